package devstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// This file holds a deliberately small GraphQL reader: enough to find an operation's root fields, their arguments
// (with variables substituted) and the selection sets used to shape the answer. It does not validate against a
// schema.

type gqlField struct {
	alias, name string
	args        map[string]any
	sel         []gqlSel
	line, col   int
}

// gqlSel is a field, an inline fragment (typeCond + sel) or a fragment spread (spread).
type gqlSel struct {
	field    *gqlField
	typeCond string
	sel      []gqlSel
	spread   string
}

type gqlOp struct {
	kind      string // query | mutation | subscription
	sel       []gqlSel
	fragments map[string]gqlFragment
}

type gqlFragment struct {
	typeCond string
	sel      []gqlSel
}

func (f *gqlField) key() string {
	if f.alias != "" {
		return f.alias
	}
	return f.name
}

type gqlTok struct {
	kind      byte // 'n' name, 's' string, '#' number, 'p' punctuator, 0 EOF
	val       string
	line, col int
}

type gqlLexer struct {
	src       string
	pos       int
	line, col int
}

func (l *gqlLexer) next() (gqlTok, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.pos++
			l.line++
			l.col = 0
		case c == ' ' || c == '\t' || c == '\r' || c == ',' || c == 0xEF || c == 0xBB || c == 0xBF:
			l.pos++
			l.col++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		default:
			goto tok
		}
	}
	return gqlTok{line: l.line + 1, col: l.col + 1}, nil
tok:
	start, line, col := l.pos, l.line+1, l.col+1
	c := l.src[l.pos]
	adv := func(n int) { l.pos += n; l.col += n }
	switch {
	case strings.HasPrefix(l.src[l.pos:], "..."):
		adv(3)
		return gqlTok{'p', "...", line, col}, nil
	case strings.ContainsRune("{}()[]:=!$@|&", rune(c)):
		adv(1)
		return gqlTok{'p', string(c), line, col}, nil
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		for l.pos < len(l.src) {
			d := l.src[l.pos]
			if d == '_' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9' {
				adv(1)
				continue
			}
			break
		}
		return gqlTok{'n', l.src[start:l.pos], line, col}, nil
	case c == '-' || c >= '0' && c <= '9':
		adv(1)
		for l.pos < len(l.src) && strings.ContainsRune("0123456789.eE+-", rune(l.src[l.pos])) {
			adv(1)
		}
		return gqlTok{'#', l.src[start:l.pos], line, col}, nil
	case strings.HasPrefix(l.src[l.pos:], `"""`):
		end := strings.Index(l.src[l.pos+3:], `"""`)
		if end < 0 {
			return gqlTok{}, fmt.Errorf("unterminated block string")
		}
		v := l.src[l.pos+3 : l.pos+3+end]
		l.line += strings.Count(v, "\n")
		l.pos += end + 6
		return gqlTok{'s', strings.TrimSpace(v), line, col}, nil
	case c == '"':
		i := l.pos + 1
		for i < len(l.src) && l.src[i] != '"' {
			if l.src[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(l.src) {
			return gqlTok{}, fmt.Errorf("unterminated string")
		}
		raw := l.src[l.pos : i+1]
		var v string
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return gqlTok{}, fmt.Errorf("bad string %s", raw)
		}
		adv(i + 1 - l.pos)
		return gqlTok{'s', v, line, col}, nil
	}
	return gqlTok{}, fmt.Errorf("unexpected character %q at %d:%d", c, line, col)
}

type gqlParser struct {
	toks []gqlTok
	i    int
	vars map[string]any
}

func parseGraphQL(src string, operationName string, vars map[string]any) (*gqlOp, error) {
	lx := &gqlLexer{src: src}
	p := &gqlParser{vars: vars}
	for {
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		p.toks = append(p.toks, t)
		if t.kind == 0 {
			break
		}
	}
	var ops []*gqlOp
	names := []string{}
	frags := map[string]gqlFragment{}
	for p.peek().kind != 0 {
		t := p.peek()
		switch {
		case t.kind == 'p' && t.val == "{":
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			ops = append(ops, &gqlOp{kind: "query", sel: sel})
			names = append(names, "")
		case t.kind == 'n' && (t.val == "query" || t.val == "mutation" || t.val == "subscription"):
			p.i++
			name := ""
			if p.peek().kind == 'n' {
				name = p.take().val
			}
			p.vars = map[string]any{}
			for k, v := range vars {
				p.vars[k] = v
			}
			if p.is("(") {
				if err := p.variableDefinitions(); err != nil {
					return nil, err
				}
			}
			p.directives()
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			ops = append(ops, &gqlOp{kind: t.val, sel: sel})
			names = append(names, name)
		case t.kind == 'n' && t.val == "fragment":
			p.i++
			name := p.take().val
			if on := p.take(); on.val != "on" {
				return nil, fmt.Errorf("expected 'on' in fragment %s", name)
			}
			tc := p.take().val
			p.directives()
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			frags[name] = gqlFragment{typeCond: tc, sel: sel}
		default:
			return nil, fmt.Errorf("unexpected %q at %d:%d", t.val, t.line, t.col)
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("no operation in document")
	}
	for i, op := range ops {
		if operationName == "" || names[i] == operationName {
			op.fragments = frags
			return op, nil
		}
	}
	return nil, fmt.Errorf("no operation named %q", operationName)
}

func (p *gqlParser) peek() gqlTok { return p.toks[p.i] }

func (p *gqlParser) take() gqlTok {
	t := p.toks[p.i]
	if t.kind != 0 {
		p.i++
	}
	return t
}

func (p *gqlParser) is(punct string) bool {
	t := p.peek()
	return t.kind == 'p' && t.val == punct
}

func (p *gqlParser) expect(punct string) error {
	t := p.take()
	if t.kind != 'p' || t.val != punct {
		return fmt.Errorf("expected %q at %d:%d, got %q", punct, t.line, t.col, t.val)
	}
	return nil
}

func (p *gqlParser) skipBalanced(open, close string) error {
	depth := 0
	for {
		t := p.take()
		if t.kind == 0 {
			return fmt.Errorf("unbalanced %s", open)
		}
		if t.kind == 'p' && t.val == open {
			depth++
		}
		if t.kind == 'p' && t.val == close {
			depth--
			if depth == 0 {
				return nil
			}
		}
	}
}

// variableDefinitions reads ($name: Type = default, ...) and applies defaults for variables not supplied.
func (p *gqlParser) variableDefinitions() error {
	p.i++ // (
	for !p.is(")") {
		if err := p.expect("$"); err != nil {
			return err
		}
		name := p.take()
		if name.kind != 'n' {
			return fmt.Errorf("expected variable name at %d:%d", name.line, name.col)
		}
		if err := p.expect(":"); err != nil {
			return err
		}
		depth := 0
		for { // the type: Name, [Name!]!, ...
			t := p.take()
			switch {
			case t.kind == 0:
				return fmt.Errorf("unterminated variable definitions")
			case t.kind == 'p' && t.val == "[":
				depth++
			case t.kind == 'p' && t.val == "]":
				depth--
			}
			if depth == 0 && p.is("!") {
				p.i++
			}
			if depth == 0 && t.kind != 'p' || depth == 0 && t.val == "]" {
				break
			}
		}
		if p.is("=") {
			p.i++
			v, err := p.value()
			if err != nil {
				return err
			}
			if _, ok := p.vars[name.val]; !ok {
				p.vars[name.val] = v
			}
		}
		p.directives()
	}
	p.i++ // )
	return nil
}

func (p *gqlParser) directives() {
	for p.is("@") {
		p.i++
		p.take()
		if p.is("(") {
			_ = p.skipBalanced("(", ")")
		}
	}
}

func (p *gqlParser) selectionSet() ([]gqlSel, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []gqlSel
	for !p.is("}") {
		if p.peek().kind == 0 {
			return nil, fmt.Errorf("unterminated selection set")
		}
		if p.is("...") {
			p.i++
			if t := p.peek(); t.kind == 'n' && t.val == "on" {
				p.i++
				tc := p.take().val
				p.directives()
				sel, err := p.selectionSet()
				if err != nil {
					return nil, err
				}
				out = append(out, gqlSel{typeCond: tc, sel: sel})
				continue
			}
			if p.is("{") || p.is("@") {
				p.directives()
				sel, err := p.selectionSet()
				if err != nil {
					return nil, err
				}
				out = append(out, gqlSel{sel: sel})
				continue
			}
			out = append(out, gqlSel{spread: p.take().val})
			p.directives()
			continue
		}
		t := p.take()
		if t.kind != 'n' {
			return nil, fmt.Errorf("expected field name at %d:%d, got %q", t.line, t.col, t.val)
		}
		f := &gqlField{name: t.val, line: t.line, col: t.col}
		if p.is(":") {
			p.i++
			f.alias = f.name
			f.name = p.take().val
		}
		if p.is("(") {
			p.i++
			f.args = map[string]any{}
			for !p.is(")") {
				name := p.take()
				if name.kind != 'n' {
					return nil, fmt.Errorf("expected argument name at %d:%d", name.line, name.col)
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				f.args[name.val] = v
			}
			p.i++
		}
		p.directives()
		if p.is("{") {
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			f.sel = sel
		}
		out = append(out, gqlSel{field: f})
	}
	p.i++
	return out, nil
}

func (p *gqlParser) value() (any, error) {
	t := p.take()
	switch t.kind {
	case 's':
		return t.val, nil
	case '#':
		if i, err := strconv.ParseInt(t.val, 10, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		return json.Number(t.val), nil
	case 'n':
		switch t.val {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return t.val, nil // enum
	case 'p':
		switch t.val {
		case "$":
			return p.vars[p.take().val], nil
		case "[":
			list := []any{}
			for !p.is("]") {
				if p.peek().kind == 0 {
					return nil, fmt.Errorf("unterminated list")
				}
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			p.i++
			return list, nil
		case "{":
			obj := map[string]any{}
			for !p.is("}") {
				k := p.take()
				if k.kind != 'n' {
					return nil, fmt.Errorf("expected object key at %d:%d", k.line, k.col)
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				obj[k.val] = v
			}
			p.i++
			return obj, nil
		}
	}
	return nil, fmt.Errorf("unexpected %q at %d:%d", t.val, t.line, t.col)
}

// ordered is a JSON object that keeps the order in which fields were selected, as GraphQL responses do.
type ordered struct {
	keys []string
	vals map[string]any
}

func (o *ordered) set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// MarshalJSON writes the fields in selection order.
func (o *ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// resolver is a field value computed from the field's arguments (connections, for example).
type resolver func(args map[string]any) any

// project shapes v (maps, slices, resolvers and scalars built by the resolvers) by a selection set.
func project(v any, sel []gqlSel, frags map[string]gqlFragment) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		o := &ordered{}
		projectInto(o, x, sel, frags)
		return o
	case []map[string]any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = project(x[i], sel, frags)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = project(x[i], sel, frags)
		}
		return out
	}
	return v
}

func projectInto(o *ordered, obj map[string]any, sel []gqlSel, frags map[string]gqlFragment) {
	typename, _ := obj["__typename"].(string)
	for _, s := range sel {
		switch {
		case s.field != nil:
			f := s.field
			val := obj[f.name]
			if r, ok := val.(resolver); ok {
				val = r(f.args)
			}
			if f.sel != nil {
				val = project(val, f.sel, frags)
			}
			o.set(f.key(), val)
		case s.spread != "":
			fr, ok := frags[s.spread]
			if ok && typeMatches(fr.typeCond, typename) {
				projectInto(o, obj, fr.sel, frags)
			}
		default:
			if typeMatches(s.typeCond, typename) {
				projectInto(o, obj, s.sel, frags)
			}
		}
	}
}

// typeMatches accepts a fragment on the object's own type, on an interface it implements (loosely: any type
// condition that is not another concrete type we produce), or with no condition.
func typeMatches(cond, typename string) bool {
	if cond == "" || typename == "" || cond == typename {
		return true
	}
	_, concrete := concreteTypes[cond]
	return !concrete
}

var concreteTypes = map[string]struct{}{
	"DiscountCodeBasic": {}, "DiscountCodeBxgy": {}, "DiscountCodeFreeShipping": {}, "DiscountCodeApp": {},
	"DiscountPercentage": {}, "DiscountAmount": {}, "DiscountOnQuantity": {},
	"DiscountMinimumSubtotal": {}, "DiscountMinimumQuantity": {},
	"DiscountBuyerSelectionAll": {}, "DiscountCustomers": {}, "DiscountCustomerSegments": {}, "DiscountMarkets": {},
	"AllDiscountItems": {}, "DiscountProducts": {}, "DiscountCollections": {},
	"DiscountCodeNode": {}, "DiscountRedeemCodeBulkCreation": {}, "Order": {}, "Shop": {}, "WebhookSubscription": {},
	"WebhookHttpEndpoint": {},
}

func argInt(args map[string]any, k string, def int) int {
	switch v := args[k].(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return int(i)
		}
		if f, err := v.Float64(); err == nil {
			return int(f)
		}
	case float64:
		return int(v)
	case int:
		return v
	case int64:
		return int(v)
	}
	return def
}

func argString(args map[string]any, k string) string {
	s, _ := args[k].(string)
	return s
}
