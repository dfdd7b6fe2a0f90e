package fraud

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

//go:embed datacenters.txt
var defaultDatacenters string

// IPSet is an immutable set of CIDR prefixes with fast membership tests. The
// zero value and nil are empty sets.
type IPSet struct {
	v4 []span // merged, sorted, non-overlapping
	v6 []netip.Prefix
}

type span struct{ lo, hi uint32 }

// NewIPSet builds a set from prefixes (duplicates and overlaps are fine).
func NewIPSet(prefixes ...netip.Prefix) *IPSet {
	s := &IPSet{}
	for _, p := range prefixes {
		p = p.Masked()
		if p.Addr().Is4() {
			lo := v4(p.Addr())
			hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
			s.v4 = append(s.v4, span{lo, hi})
		} else {
			s.v6 = append(s.v6, p)
		}
	}
	slices.SortFunc(s.v4, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	merged := s.v4[:0]
	for _, r := range s.v4 {
		if n := len(merged); n > 0 && uint64(r.lo) <= uint64(merged[n-1].hi)+1 {
			merged[n-1].hi = max(merged[n-1].hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	s.v4 = merged
	return s
}

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Contains reports whether addr is inside one of the set's prefixes. IPv4
// addresses mapped into IPv6 are tested as IPv4.
func (s *IPSet) Contains(addr netip.Addr) bool {
	if s == nil || !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	if addr.Is4() {
		x := v4(addr)
		i, _ := slices.BinarySearchFunc(s.v4, x, func(r span, x uint32) int {
			switch {
			case r.hi < x:
				return -1
			case r.lo > x:
				return 1
			}
			return 0
		})
		return i < len(s.v4) && s.v4[i].lo <= x && x <= s.v4[i].hi
	}
	for _, p := range s.v6 {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Len returns the number of merged IPv4 ranges plus IPv6 prefixes.
func (s *IPSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.v4) + len(s.v6)
}

// ParseCIDRs reads one CIDR (or bare address) per line; '#' starts a
// comment and blank lines are skipped. name is used in error messages.
func ParseCIDRs(r io.Reader, name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		t := sc.Text()
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !strings.Contains(t, "/") {
			a, err := netip.ParseAddr(t)
			if err != nil {
				return nil, fmt.Errorf("fraud: %s:%d: %w", name, line, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return nil, fmt.Errorf("fraud: %s:%d: %w", name, line, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fraud: read %s: %w", name, err)
	}
	return out, nil
}

// DefaultDatacenterPrefixes returns the shipped list of major cloud ranges
// (datacenters.txt, embedded; its header says where it comes from and how to
// refresh it).
func DefaultDatacenterPrefixes() []netip.Prefix {
	return slices.Clone(defaultPrefixes())
}

var defaultPrefixes = sync.OnceValue(func() []netip.Prefix {
	p, err := ParseCIDRs(strings.NewReader(defaultDatacenters), "datacenters.txt")
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return p
})

// DefaultDatacenters returns the shipped datacenter set. It is built once
// and shared: an IPSet is read-only after NewIPSet.
var DefaultDatacenters = sync.OnceValue(func() *IPSet { return NewIPSet(defaultPrefixes()...) })

// LoadDatacenters builds the datacenter set from the files an operator or
// merchant configured (paths inside fsys, e.g. os.DirFS("/etc/coupontrail")),
// plus the shipped default list when withDefault is set.
func LoadDatacenters(fsys fs.FS, withDefault bool, paths ...string) (*IPSet, error) {
	var all []netip.Prefix
	if withDefault {
		all = DefaultDatacenterPrefixes()
	}
	for _, p := range paths {
		f, err := fsys.Open(p)
		if err != nil {
			return nil, fmt.Errorf("fraud: open cidr list: %w", err)
		}
		ps, err := ParseCIDRs(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	return NewIPSet(all...), nil
}
