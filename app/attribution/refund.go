package attribution

// RefundResult is the effect of one refund on a conversion's lines.
type RefundResult struct {
	// Lines are the lines after the refund (the input is not modified).
	Lines []Line
	// Deltas[i] is what line i lost (old − new amounts; never negative).
	Deltas []Amounts
	// Full is true when nothing is left: the conversion is reversed.
	Full bool
	// Refunded is the order's cumulative refunded net after this refund,
	// capped at the order's net.
	Refunded int64
}

// ApplyRefund reduces a conversion's lines pro rata to a refund of
// refundMinor against an order whose net at attribution was orderNetMinor
// (what the lines' Original nets sum to; the caller converts a Shopify refund
// — line items, shipping, adjustments — to that basis).
//
// There is no drift over many partial refunds because nothing is computed
// from the previous step's rounded values: the cumulative refund is derived
// exactly (orderNet − Σ current net, since parts always sum to their whole),
// the remaining net is orderNet − cumulative, and every line is recomputed
// from its Original weights by largest remainder, capped so no line ever
// grows (see splitCapped). Gross and discount shrink in the same proportion
// (a refunded item takes its discount with it); commission is recomputed on
// each line's reduced net under the rule it was credited with — a fixed fee
// stays until the conversion is fully refunded. A refund that reaches the
// order's net zeroes every amount, fixed fees included. A non-positive refund
// changes nothing.
func ApplyRefund(lines []Line, refundMinor, orderNetMinor int64) RefundResult {
	out := RefundResult{Lines: make([]Line, len(lines)), Deltas: make([]Amounts, len(lines))}
	copy(out.Lines, lines)
	var cur, orig Amounts
	for _, l := range lines {
		cur = cur.Add(l.Amounts)
		orig = orig.Add(l.Original)
	}
	if orderNetMinor < 0 {
		orderNetMinor = 0
	}
	refundedBefore := max(orderNetMinor-cur.Net, 0)
	out.Refunded = refundedBefore
	if refundMinor <= 0 || len(lines) == 0 {
		return out
	}
	refunded := min(refundedBefore+refundMinor, orderNetMinor)
	out.Refunded = refunded
	remaining := orderNetMinor - refunded
	out.Full = remaining == 0

	n := len(lines)
	wNet, wGross, wDisc, shares := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	cNet, cGross, cDisc := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, l := range lines {
		wNet[i], wGross[i], wDisc[i], shares[i] = l.Original.Net, l.Original.Gross, l.Original.Discount, l.Share
		cNet[i], cGross[i], cDisc[i] = l.Amounts.Net, l.Amounts.Gross, l.Amounts.Discount
	}
	if orig.Net == 0 {
		wNet = shares
	}
	if orig.Gross == 0 {
		wGross = shares
	}
	if orig.Discount == 0 {
		wDisc = shares
	}
	var nets, grosses, discs []int64
	if out.Full {
		nets, grosses, discs = make([]int64, n), make([]int64, n), make([]int64, n)
	} else {
		scale := func(total int64) int64 {
			if orderNetMinor == 0 || total <= 0 {
				return 0
			}
			return mulDivRound(total, remaining, orderNetMinor)
		}
		nets = splitCapped(min(remaining, cur.Net), wNet, cNet)
		grosses = splitCapped(min(scale(orig.Gross), cur.Gross), wGross, cGross)
		discs = splitCapped(min(scale(orig.Discount), cur.Discount), wDisc, cDisc)
	}
	for i, l := range lines {
		nl := l
		nl.Amounts.Net, nl.Amounts.Gross, nl.Amounts.Discount = nets[i], grosses[i], discs[i]
		if out.Full {
			nl.Amounts.Commission = 0
		} else {
			nl.Amounts.Commission = min(l.CommissionRule.For(nets[i], l.Share), l.Amounts.Commission)
		}
		out.Lines[i] = nl
		out.Deltas[i] = l.Amounts.Sub(nl.Amounts)
	}
	return out
}

// Clawback returns what a partner must give back when a conversion already
// paid at paidMinor is now worth owedMinor (after a refund or reversal): the
// difference, never negative. It goes on the partner's next statement.
func Clawback(paidMinor, owedMinor int64) int64 {
	return max(paidMinor-owedMinor, 0)
}
