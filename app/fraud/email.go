package fraud

import "strings"

// NormalizeEmail folds the ways one mailbox can be spelled onto one key:
// case and surrounding space, a "+tag" in the local part (plus addressing is
// honoured by Gmail, Outlook, iCloud, Fastmail and most others), and for Gmail
// the dots in the local part and the googlemail.com alias. An address without
// "@" is returned lower-cased and trimmed.
func NormalizeEmail(email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return e
	}
	local, domain := e[:at], e[at+1:]
	plus := strings.IndexByte(local, '+')
	gmail := domain == "gmail.com" || domain == "googlemail.com"
	if plus < 0 && (!gmail || domain == "gmail.com" && !strings.Contains(local, ".")) {
		return e // already canonical: no allocation on the hot path
	}
	if plus >= 0 {
		local = local[:plus]
	}
	if gmail {
		domain = "gmail.com"
		local = strings.ReplaceAll(local, ".", "")
	}
	return local + "@" + domain
}

// sameShopper reports whether two (customer id, email) pairs name the same
// shopper, and whether that could be decided at all. Equal customer ids win;
// then normalised e-mails; two different customer ids with no e-mail to
// compare are different shoppers.
func sameShopper(custA, emailA, custB, emailB string) (same, known bool) {
	if custA != "" && custB != "" && custA == custB {
		return true, true
	}
	ea, eb := NormalizeEmail(emailA), NormalizeEmail(emailB)
	if ea != "" && eb != "" {
		return ea == eb, true
	}
	if custA != "" && custB != "" {
		return false, true
	}
	return false, false
}
