package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/store"
)

// experimentRoutes lists the experiment and insight routes.
func (a *App) experimentRoutes(api *echo.Group) {
	api.GET("/experiments", a.listExperiments)
	api.GET("/experiments/:id", a.getExperiment)
	api.PATCH("/experiments/:id", a.updateExperiment)
	api.GET("/insights/recommendations", a.recommendations)
	api.GET("/insights/models", a.listUpliftModels)
}

// holdoutArm is the holdout step's answer for one issue request.
type holdoutArm struct {
	control bool // answer {"holdout":true}, no code
	// level is the campaign whose code the bandit chose for a treated
	// shopper of a multi-arm campaign (the requested campaign itself or one
	// of its arm campaigns); nil when no bandit chose. label names its
	// discount for the answer's "level".
	level *store.Campaign
	label string
}

// issueArm assigns an identified shopper of a campaign with a holdout to
// its arm (a deterministic hash of shop, shopper and campaign salt) and
// records the assignment for both arms; control shoppers are answered
// {"holdout":true} without a code. Anonymous shoppers (no customer id or
// e-mail) are not part of the experiment: nothing could join their orders.
// The holdout is the permanent random control: the bandit never touches it.
//
// A treated shopper of a campaign whose experiment has arm campaigns gets a
// discount level chosen by the bandit (banditLevel). Reading the bandit's
// state is one round trip of primary-key lookups (settings, snapshot,
// retirements, the shopper's assignment); the snapshot is refreshed by the
// bandit:refresh job, never aggregated here.
//
// Recording is one INSERT … ON CONFLICT DO NOTHING; when it fails the
// shopper keeps its arm (the hash decides, not the row) and the failure is
// logged.
func (a *App) issueArm(camp *store.Campaign, in *issueIn) holdoutArm {
	return a.holdoutArmOf(camp, in, true)
}

// inHoldout is the holdout step of paths that issue the requested
// campaign's own code (cart recovery): it assigns and records the shopper
// like issueArm without a bandit (a new treated shopper is recorded at the
// campaign's own level) and reports whether the shopper is a control.
func (a *App) inHoldout(camp *store.Campaign, in *issueIn) bool {
	return a.holdoutArmOf(camp, in, false).control
}

func (a *App) holdoutArmOf(camp *store.Campaign, in *issueIn, bandit bool) holdoutArm {
	if camp.Holdout <= 0 {
		return holdoutArm{}
	}
	cust := in.CustomerID.ptr()
	key := experiment.ShopperKey(cust, in.CustomerEmail)
	if key == "" {
		return holdoutArm{}
	}
	salt := camp.Salt
	if salt == "" {
		salt = idString(camp.ID)
	}
	arm := experiment.Assign(camp.ShopID, key, salt, camp.Holdout)
	partner := in.PartnerID.ptr()
	if partner == nil {
		partner = camp.PartnerID
	}
	ctx, cancel := context.WithTimeout(context.Background(), issueAssignTimeout)
	defer cancel()
	now := a.now()
	asg := &store.Assignment{ShopID: camp.ShopID, CampaignID: camp.ID, Shopper: key, CustomerID: cust,
		Email: in.CustomerEmail, Arm: arm, PartnerID: partner, Channel: in.Channel, Country: in.Country, Device: in.Device, AssignedAt: now}
	if arm == experiment.Treatment && bandit {
		st, err := a.store.BanditStateFor(ctx, camp.ShopID, camp.ID, key, now)
		switch {
		case err == nil && len(st.ArmCampaigns) > 0:
			return a.banditLevel(ctx, camp, asg, st)
		case err == nil && st.Assigned:
			return holdoutArm{} // recorded before: nothing to write
		case err != nil && !errors.Is(err, store.ErrNotFound):
			a.log.Warn("read bandit state failed; serving the campaign itself", "campaign_id", camp.ID, "err", err)
		}
	}
	if err := a.store.RecordAssignment(ctx, asg); err != nil {
		a.log.Warn("record experiment assignment failed", "campaign_id", camp.ID, "arm", arm, "err", err)
	}
	return holdoutArm{control: arm == experiment.Control}
}

// banditLevel picks the discount level of a treated shopper of a
// multi-arm campaign. The levels are the campaign's own discount and its
// arm campaigns that are active now, less the retired ones; a level is
// named by its campaign's id (as experiment_assignments.level records it
// and the readouts read it).
//
// The level is sticky: a shopper already assigned keeps its recorded level
// (an assignment recorded without one is the campaign's own discount)
// while that level is live. Once it is retired or its campaign stops, the
// shopper is served a live level but stays counted for the first one (the
// outcome window started there). A new shopper gets one Thompson draw on
// the snapshot's posteriors of its segment (channel and device, the whole
// campaign while the segment is small), seeded by shop, campaign, shopper
// and snapshot time so a retried request draws the same; the choice is
// recorded with the assignment, and if a concurrent first request recorded
// another level first, that one wins.
func (a *App) banditLevel(ctx context.Context, camp *store.Campaign, asg *store.Assignment, st *store.BanditState) holdoutArm {
	own := idString(camp.ID)
	retired := make(map[string]bool, len(st.Retired))
	for _, l := range st.Retired {
		retired[l] = true
	}
	var live []string
	if !retired[own] {
		live = append(live, own)
	}
	for _, id := range st.LiveArms {
		if l := idString(id); id != camp.ID && !retired[l] {
			live = append(live, l)
		}
	}
	choose := func() string {
		if len(live) == 0 { // every level retired or stopped: the campaign itself
			return own
		}
		var counts experiment.BanditCounts
		if len(st.Counts) > 0 {
			if err := json.Unmarshal(st.Counts, &counts); err != nil {
				a.log.Warn("bandit snapshot unreadable; drawing uniformly", "campaign_id", camp.ID, "err", err)
				counts = experiment.BanditCounts{}
			}
		}
		var at int64
		if st.ComputedAt != nil {
			at = st.ComputedAt.UnixNano()
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%d|%d|%s", camp.ShopID, camp.ID, asg.Shopper)
		rng := rand.New(rand.NewPCG(h.Sum64(), uint64(at)))
		return counts.Choose(experiment.SegmentKey(asg.Channel, asg.Device), live, st.Margin, rng)
	}
	level := st.Level
	if !st.Assigned {
		asg.Level = choose()
		got, err := a.store.RecordBanditAssignment(ctx, asg)
		if err != nil {
			a.log.Warn("record experiment assignment failed", "campaign_id", camp.ID, "arm", asg.Arm, "level", asg.Level, "err", err)
			got = asg.Level
		}
		level = got
	}
	if level == "" {
		level = own
	}
	if !slices.Contains(live, level) {
		level = choose()
	}
	if level == own {
		return holdoutArm{level: camp, label: levelLabel(camp)}
	}
	id, _ := strconv.ParseInt(level, 10, 64)
	lc, err := a.store.CampaignForIssue(ctx, camp.ShopID, id)
	if err != nil {
		a.log.Warn("load bandit level failed; serving the campaign itself", "campaign_id", camp.ID, "level", level, "err", err)
		return holdoutArm{level: camp, label: levelLabel(camp)}
	}
	return holdoutArm{level: lc, label: levelLabel(lc)}
}

// issueAssignTimeout bounds the assignment insert of the issue path.
const issueAssignTimeout = 2 * time.Second

// num renders a float as a JSON number, NaN and ±Inf as null.
func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func numPair(p [2]float64) []*float64 { return []*float64{num(p[0]), num(p[1])} }

func moneyOrNull(minor float64, cur string) *string {
	if math.IsNaN(minor) || math.IsInf(minor, 0) {
		return nil
	}
	s := attribution.FormatMinor(int64(math.Round(minor)), cur)
	return &s
}

type armJSON struct {
	Shoppers       int64    `json:"shoppers"`
	Converters     int64    `json:"converters"`
	Orders         int64    `json:"orders"`
	ConversionRate *float64 `json:"conversion_rate"`
	Revenue        string   `json:"revenue"`
	Cost           string   `json:"cost"`
}

type liftJSON struct {
	Absolute   *float64   `json:"absolute"`
	AbsoluteCI []*float64 `json:"absolute_ci"`
	Relative   *float64   `json:"relative"`
	RelativeCI []*float64 `json:"relative_ci"`
}

type sequentialJSON struct {
	PValue      float64    `json:"p_value"`
	Significant bool       `json:"significant"`
	Looks       int        `json:"looks"`
	CI          []*float64 `json:"ci"`
	Method      string     `json:"method"`
}

// readoutJSON is the readout of one arm pair (a campaign, or one partner's
// traffic of it).
type readoutJSON struct {
	Arms struct {
		Treatment armJSON `json:"treatment"`
		Control   armJSON `json:"control"`
	} `json:"arms"`
	Lift                    liftJSON       `json:"lift"`
	IncrementalOrders       *float64       `json:"incremental_orders"`
	IncrementalRevenue      *string        `json:"incremental_revenue"`
	CostPerIncrementalOrder *string        `json:"cost_per_incremental_order"`
	IncrementalROAS         *float64       `json:"incremental_roas"`
	Sequential              sequentialJSON `json:"sequential"`
	SampleSizeNeeded        *int64         `json:"sample_size_needed"`
}

type partnerReadoutJSON struct {
	PartnerID string `json:"partner_id"`
	readoutJSON
}

// experimentJSON is one item of GET /api/v1/experiments and the body of GET
// /api/v1/experiments/{id} (id = the campaign id).
type experimentJSON struct {
	CampaignID   string         `json:"campaign_id"`
	CampaignName string         `json:"campaign_name"`
	Status       string         `json:"status"`
	Holdout      float64        `json:"holdout"`
	Currency     string         `json:"currency"`
	MDE          float64        `json:"mde"`
	Margin       float64        `json:"margin"`
	ArmLevels    []armLevelJSON `json:"arm_levels"`
	readoutJSON
	Partners []partnerReadoutJSON `json:"partners"`
	// Bandit is how the issue API splits treated shoppers over the arm
	// levels, and why; null for a campaign without arm campaigns.
	Bandit *banditJSON `json:"bandit"`
}

// banditJSON is the bandit's view of a multi-arm experiment: one item per
// level (the campaign's own discount first), from the snapshot computed at
// computed_at (null before the first refresh).
type banditJSON struct {
	ComputedAt *string           `json:"computed_at"`
	Levels     []banditLevelJSON `json:"levels"`
}

// banditLevelJSON is one level of the bandit: its traffic and profit so far
// (treated shoppers against the shared holdout) and whether it is still
// served.
type banditLevelJSON struct {
	CampaignID               string   `json:"campaign_id"`
	Level                    string   `json:"level"`
	Status                   string   `json:"status"` // live or retired
	TrafficShare             float64  `json:"traffic_share"`
	SelectionShare           float64  `json:"selection_share"`
	Shoppers                 int64    `json:"shoppers"`
	Converters               int64    `json:"converters"`
	ExpectedProfitPerShopper *string  `json:"expected_profit_per_shopper"`
	PLoss                    *float64 `json:"p_loss"`
	RetiredAt                *string  `json:"retired_at"`
	Reason                   string   `json:"reason"`
}

// armLevelJSON is one discount level of the experiment: the campaign itself
// or a campaign named in the experiment's arms.
type armLevelJSON struct {
	CampaignID string `json:"campaign_id"`
	Level      string `json:"level"`
}

func toArmJSON(a experiment.Arm, cur string) armJSON {
	return armJSON{Shoppers: a.Shoppers, Converters: a.Converters, Orders: a.Orders, ConversionRate: num(a.Rate()),
		Revenue: attribution.FormatMinor(a.RevenueMinor, cur), Cost: attribution.FormatMinor(a.CostMinor, cur)}
}

// readout analyses a set of shoppers at now.
func (a *App) readout(obs []experiment.Obs, set store.ExperimentSettings, cur string) readoutJSON {
	t, c, looks := experiment.Aggregate(obs, a.now())
	st := experiment.Settings{MDE: set.MDE}.Defaults()
	r := experiment.Analyze(t, c, st)
	base := c.Rate()
	if !(base > 0) && t.Shoppers+c.Shoppers > 0 {
		base = float64(t.Converters+c.Converters) / float64(t.Shoppers+c.Shoppers)
	}
	seq := experiment.Sequential(looks, experiment.MixtureTau(base, st.MDE), st.Alpha)
	var out readoutJSON
	out.Arms.Treatment, out.Arms.Control = toArmJSON(t, cur), toArmJSON(c, cur)
	out.Lift = liftJSON{Absolute: num(r.Absolute), AbsoluteCI: numPair(r.AbsoluteCI), Relative: num(r.Relative), RelativeCI: numPair(r.RelativeCI)}
	out.IncrementalOrders = num(r.IncrementalOrders)
	out.IncrementalRevenue = moneyOrNull(r.IncrementalRevenueMinor, cur)
	out.CostPerIncrementalOrder = moneyOrNull(r.CostPerIncrementalMinor, cur)
	out.IncrementalROAS = num(r.IncrementalROAS)
	out.Sequential = sequentialJSON{PValue: seq.PValue, Significant: seq.Significant, Looks: seq.Looks, CI: numPair(seq.CI),
		Method: "mSPRT, normal mixture (always valid)"}
	if r.SampleSizeNeeded >= 0 {
		n := r.SampleSizeNeeded
		out.SampleSizeNeeded = &n
	}
	return out
}

func toObs(r *store.ExperimentShopper) experiment.Obs {
	return experiment.Obs{Arm: r.Arm, AssignedAt: r.AssignedAt, Orders: r.Orders, FirstOrder: r.FirstOrder, Revenue: r.Revenue,
		Discount: r.Discount, Cost: r.Discount + r.Commission}
}

// levelLabel names a campaign's discount: "15%", "5.00 off", "free shipping".
func levelLabel(camp *store.Campaign) string {
	var d campaign.Discount
	if len(camp.Discount) > 0 && json.Unmarshal(camp.Discount, &d) == nil {
		switch d.Type {
		case campaign.DiscountPercentage:
			return string(d.Value) + "%"
		case campaign.DiscountFixedAmount:
			return string(d.Value) + " off"
		case campaign.DiscountFreeShipping:
			return "free shipping"
		}
	}
	return "campaign " + idString(camp.ID)
}

// experimentOf builds the readout of one campaign.
func (a *App) experimentOf(ctx context.Context, sh *store.Shop, camp *store.Campaign, set store.ExperimentSettings, withPartners bool) (experimentJSON, error) {
	rows, err := a.store.ExperimentShoppers(ctx, sh.ID, []int64{camp.ID}, 0)
	if err != nil {
		return experimentJSON{}, err
	}
	cur := sh.Currency
	out := experimentJSON{CampaignID: idString(camp.ID), CampaignName: camp.Name, Status: camp.Status, Holdout: camp.Holdout, Currency: cur,
		MDE: set.MDE, Margin: set.Margin, ArmLevels: []armLevelJSON{{CampaignID: idString(camp.ID), Level: levelLabel(camp)}}, Partners: []partnerReadoutJSON{}}
	for _, id := range set.ArmCampaigns {
		if other, err := a.store.CampaignByID(ctx, sh.ID, id); err == nil {
			out.ArmLevels = append(out.ArmLevels, armLevelJSON{CampaignID: idString(id), Level: levelLabel(other)})
		}
	}
	if len(set.ArmCampaigns) > 0 {
		b, err := a.banditOf(ctx, sh, camp.ID, out.ArmLevels)
		if err != nil {
			return experimentJSON{}, err
		}
		out.Bandit = b
	}
	obs := make([]experiment.Obs, len(rows))
	byPartner := map[int64][]experiment.Obs{}
	for i := range rows {
		obs[i] = toObs(&rows[i])
		if rows[i].PartnerID != nil {
			byPartner[*rows[i].PartnerID] = append(byPartner[*rows[i].PartnerID], obs[i])
		}
	}
	out.readoutJSON = a.readout(obs, set, cur)
	if withPartners {
		ids := make([]int64, 0, len(byPartner))
		for id := range byPartner {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			out.Partners = append(out.Partners, partnerReadoutJSON{PartnerID: idString(id), readoutJSON: a.readout(byPartner[id], set, cur)})
		}
	}
	return out, nil
}

// banditOf reads the bandit's snapshot and retirements of a campaign into
// the merchant's view of its levels.
func (a *App) banditOf(ctx context.Context, sh *store.Shop, campaignID int64, levels []armLevelJSON) (*banditJSON, error) {
	out := &banditJSON{Levels: []banditLevelJSON{}}
	sums := map[string]experiment.LevelSummary{}
	snap, err := a.store.LoadBanditSnapshot(ctx, sh.ID, campaignID)
	switch {
	case err == nil:
		out.ComputedAt = rfc3339(&snap.ComputedAt)
		var ls []experiment.LevelSummary
		if err := json.Unmarshal(snap.Levels, &ls); err != nil {
			return nil, fmt.Errorf("bandit snapshot of campaign %d: %w", campaignID, err)
		}
		for _, l := range ls {
			sums[l.Level] = l
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	rets, err := a.store.BanditRetirements(ctx, sh.ID, campaignID)
	if err != nil {
		return nil, err
	}
	retired := map[string]store.BanditRetirement{}
	for _, r := range rets {
		retired[r.Level] = r
	}
	for _, lv := range levels {
		item := banditLevelJSON{CampaignID: lv.CampaignID, Level: lv.Level, Status: "live"}
		if s, ok := sums[lv.CampaignID]; ok {
			item.TrafficShare, item.SelectionShare, item.Shoppers, item.Converters = s.TrafficShare, s.SelectionShare, s.Shoppers, s.Converters
			item.ExpectedProfitPerShopper = moneyOrNull(s.ExpectedProfitPerShopper, sh.Currency)
			item.PLoss = num(s.PLoss)
		}
		if r, ok := retired[lv.CampaignID]; ok {
			item.Status, item.RetiredAt, item.Reason, item.SelectionShare = "retired", rfc3339(&r.RetiredAt), r.Reason, 0
		}
		out.Levels = append(out.Levels, item)
	}
	return out, nil
}

// listExperiments is GET /api/v1/experiments: one readout per campaign that
// runs an experiment (a holdout share or recorded assignments), newest
// campaign first; partners are split out in the detail only.
func (a *App) listExperiments(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	limit = min(limit, 100)
	camps, err := a.store.ExperimentCampaigns(ctx, sh.ID, before, limit+1)
	if err != nil {
		return err
	}
	ids := make([]int64, len(camps))
	for i := range camps {
		ids[i] = camps[i].ID
	}
	sets, err := a.store.ExperimentSettingsFor(ctx, sh.ID, ids)
	if err != nil {
		return err
	}
	out := list[experimentJSON]{Items: []experimentJSON{}}
	for i := range camps {
		if i == limit {
			out.NextCursor = idString(camps[i-1].ID)
			break
		}
		e, err := a.experimentOf(ctx, sh, &camps[i], sets[camps[i].ID], false)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, e)
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) experimentCampaign(c echo.Context) (*store.Campaign, store.ExperimentSettings, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, store.ExperimentSettings{}, errCode(http.StatusNotFound, "experiment_not_found", "no such experiment")
	}
	ctx := c.Request().Context()
	sh := shopOf(c)
	camp, err := a.store.CampaignByID(ctx, sh.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.ExperimentSettings{}, errCode(http.StatusNotFound, "experiment_not_found", "no such experiment")
	}
	if err != nil {
		return nil, store.ExperimentSettings{}, err
	}
	sets, err := a.store.ExperimentSettingsFor(ctx, sh.ID, []int64{id})
	if err != nil {
		return nil, store.ExperimentSettings{}, err
	}
	return camp, sets[id], nil
}

// getExperiment is GET /api/v1/experiments/{id}: the readout of campaign id
// (a campaign without a holdout reads out as an empty experiment), with one
// readout per partner whose traffic the campaign split.
func (a *App) getExperiment(c echo.Context) error {
	camp, set, err := a.experimentCampaign(c)
	if err != nil {
		return err
	}
	out, err := a.experimentOf(c.Request().Context(), shopOf(c), camp, set, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// updateExperiment is PATCH /api/v1/experiments/{id} {"mde", "margin",
// "arms"}: the relative minimum detectable effect (0 < mde ≤ 10), the gross
// margin share used for profit (0 < margin ≤ 1) and the campaigns whose
// discounts are the other levels of the offer (ids of this shop, at most 10).
func (a *App) updateExperiment(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	camp, set, err := a.experimentCampaign(c)
	if err != nil {
		return err
	}
	var in struct {
		MDE    *float64  `json:"mde"`
		Margin *float64  `json:"margin"`
		Arms   *[]string `json:"arms"`
	}
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, 16<<10)).Decode(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be a JSON object")
	}
	if in.MDE != nil {
		if !(*in.MDE > 0 && *in.MDE <= 10) {
			return errCode(http.StatusUnprocessableEntity, "invalid_mde", "mde is a relative lift: 0 < mde ≤ 10 (0.1 = 10%)")
		}
		set.MDE = *in.MDE
	}
	if in.Margin != nil {
		if !(*in.Margin > 0 && *in.Margin <= 1) {
			return errCode(http.StatusUnprocessableEntity, "invalid_margin", "margin is a share of revenue: 0 < margin ≤ 1")
		}
		set.Margin = *in.Margin
	}
	if in.Arms != nil {
		if len(*in.Arms) > 10 {
			return errCode(http.StatusUnprocessableEntity, "invalid_arms", "at most 10 arm campaigns")
		}
		ids := []int64{}
		for _, s := range *in.Arms {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 || id == camp.ID {
				return errCode(http.StatusUnprocessableEntity, "invalid_arms", fmt.Sprintf("arms: %q is not another campaign's id", s))
			}
			if _, err := a.store.CampaignByID(ctx, sh.ID, id); errors.Is(err, store.ErrNotFound) {
				return errCode(http.StatusUnprocessableEntity, "invalid_arms", fmt.Sprintf("arms: no campaign %s", s))
			} else if err != nil {
				return err
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		set.ArmCampaigns = ids
	}
	set.CampaignID, set.UpdatedAt = camp.ID, a.now()
	if err := a.store.SaveExperimentSettings(ctx, sh.ID, set); err != nil {
		return err
	}
	out, err := a.experimentOf(ctx, sh, camp, set, true)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// recommendationJSON is one item of GET /api/v1/insights/recommendations.
type recommendationJSON struct {
	Segment        string             `json:"segment"`
	Customers      int64              `json:"customers"`
	Arm            string             `json:"arm"`
	CampaignID     *string            `json:"campaign_id"`
	Channel        string             `json:"channel"`
	When           string             `json:"when"`
	ExpectedUplift float64            `json:"expected_uplift"`
	ExpectedProfit string             `json:"expected_profit"`
	Share          map[string]float64 `json:"exploration_share"`
	Retired        []string           `json:"retired_arms"`
	Reason         string             `json:"reason"`
}

type modelRefJSON struct {
	Version   int      `json:"version"`
	Learner   string   `json:"learner"`
	Qini      *float64 `json:"qini"`
	TrainedAt string   `json:"trained_at"`
}

type recommendationsJSON struct {
	CampaignID string               `json:"campaign_id"`
	Holdout    float64              `json:"holdout"`
	Margin     float64              `json:"margin"`
	Model      *modelRefJSON        `json:"model"`
	Items      []recommendationJSON `json:"items"`
	NextCursor string               `json:"next_cursor"`
}

// recommendations is GET /api/v1/insights/recommendations?campaign=ID: per
// segment (channel × new/returning shopper), which discount level of the
// campaign's arms to give, through which channel and when, ranked by
// expected profit (uplift × margin on the order value − discount cost on
// every treated order), with Thompson-sampling traffic shares over the
// levels and arms that lose money retired. The campaign's holdout stays as
// the permanent random control.
func (a *App) recommendations(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	cid, err := queryID(c, "campaign")
	if err != nil {
		return err
	}
	if cid == 0 {
		return errCode(http.StatusBadRequest, "invalid_campaign", "campaign is required")
	}
	camp, err := a.store.CampaignByID(ctx, sh.ID, cid)
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "campaign_not_found", "no such campaign")
	}
	if err != nil {
		return err
	}
	sets, err := a.store.ExperimentSettingsFor(ctx, sh.ID, []int64{cid})
	if err != nil {
		return err
	}
	set := sets[cid]
	camps := map[int64]*store.Campaign{cid: camp}
	ids := []int64{cid}
	for _, id := range set.ArmCampaigns {
		if other, err := a.store.CampaignByID(ctx, sh.ID, id); err == nil {
			camps[id] = other
			ids = append(ids, id)
		}
	}
	rows, err := a.store.ExperimentShoppers(ctx, sh.ID, ids, 0)
	if err != nil {
		return err
	}
	out := recommendationsJSON{CampaignID: idString(cid), Holdout: camp.Holdout, Margin: set.Margin, Items: []recommendationJSON{}}
	var modelSegs map[string]float64
	var modelNote string
	if m, err := a.store.ActiveUpliftModel(ctx, sh.ID); err == nil {
		out.Model = &modelRefJSON{Version: m.Version, Learner: m.Learner, Qini: m.Qini, TrainedAt: m.TrainedAt.UTC().Format(time.RFC3339)}
		if json.Unmarshal(m.Segments, &modelSegs) != nil {
			modelSegs = nil
		}
		q := math.NaN()
		if m.Qini != nil {
			q = *m.Qini
		}
		modelNote = fmt.Sprintf("uplift model v%d, %s, held-out Qini %.4f", m.Version, m.Learner, q)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	segs := buildSegments(rows, camps, cid, modelSegs, modelNote)
	rng := rand.New(rand.NewPCG(uint64(sh.ID), uint64(cid)))
	for _, r := range experiment.Recommend(segs, set.Margin, rng) {
		item := recommendationJSON{Segment: r.Segment, Customers: r.Customers, Arm: r.Arm, Channel: r.Channel, When: r.When,
			ExpectedUplift: r.ExpectedUplift, ExpectedProfit: attribution.FormatMinor(int64(math.Round(r.ExpectedProfit)), sh.Currency),
			Share: r.Share, Retired: r.Retired, Reason: r.Reason}
		if r.CampaignID != 0 {
			s := idString(r.CampaignID)
			item.CampaignID = &s
		}
		if item.Retired == nil {
			item.Retired = []string{}
		}
		out.Items = append(out.Items, item)
	}
	return c.JSON(http.StatusOK, out)
}

// buildSegments turns assigned shoppers into the recommender's segments:
// per segment, one level per campaign with its treated shoppers against
// the segment's pooled controls (every level's holdout is a random sample
// of the same audience).
func buildSegments(rows []store.ExperimentShopper, camps map[int64]*store.Campaign, main int64, modelSegs map[string]float64, modelNote string) []experiment.Segment {
	type acc struct {
		channel  string
		treated  map[int64]*experiment.Arm
		control  experiment.Arm
		dn, dx   map[string]int64
		shoppers int64
	}
	bySeg := map[string]*acc{}
	var names []string
	for i := range rows {
		r := &rows[i]
		name, ch := experiment.SegmentName(r.Channel, r.PriorOrders)
		s := bySeg[name]
		if s == nil {
			s = &acc{channel: ch, treated: map[int64]*experiment.Arm{}, dn: map[string]int64{}, dx: map[string]int64{}}
			bySeg[name] = s
			names = append(names, name)
		}
		s.shoppers++
		arm := &s.control
		if r.Arm == experiment.Treatment {
			cid := r.CampaignID // the level served: the campaign's own, or the one the bandit chose
			if id, err := strconv.ParseInt(r.Level, 10, 64); err == nil && camps[id] != nil {
				cid = id
			}
			if s.treated[cid] == nil {
				s.treated[cid] = &experiment.Arm{}
			}
			arm = s.treated[cid]
			dp := experiment.Daypart(r.AssignedAt.UTC().Hour())
			s.dn[dp]++
			if r.Orders > 0 {
				s.dx[dp]++
			}
		}
		arm.Shoppers++
		arm.Orders += r.Orders
		arm.RevenueMinor += r.Revenue
		arm.DiscountMinor += r.Discount
		arm.CostMinor += r.Discount + r.Commission
		if r.Orders > 0 {
			arm.Converters++
		}
	}
	slices.Sort(names)
	segs := make([]experiment.Segment, 0, len(names))
	for _, name := range names {
		s := bySeg[name]
		seg := experiment.Segment{Name: name, Channel: s.channel, Customers: s.shoppers, When: experiment.BestDaypart(s.dn, s.dx, 30)}
		cids := make([]int64, 0, len(s.treated))
		for id := range s.treated {
			cids = append(cids, id)
		}
		slices.Sort(cids)
		var allOrders, allRevenue int64
		for _, id := range cids {
			allOrders += s.treated[id].Orders
			allRevenue += s.treated[id].RevenueMinor
		}
		allOrders += s.control.Orders
		allRevenue += s.control.RevenueMinor
		for _, id := range cids {
			t := s.treated[id]
			l := experiment.Level{Label: levelLabel(camps[id]), CampaignID: id, Treated: *t, Control: s.control}
			if t.Orders > 0 {
				l.DiscountPerOrderMinor = float64(t.DiscountMinor) / float64(t.Orders)
			}
			if allOrders > 0 {
				l.AOVMinor = float64(allRevenue) / float64(allOrders)
			}
			if u, ok := modelSegs[name]; ok && id == main {
				l.ModelUplift, l.ModelNote = &u, modelNote
			}
			seg.Levels = append(seg.Levels, l)
		}
		segs = append(segs, seg)
	}
	return segs
}

// upliftModelJSON is one item of GET /api/v1/insights/models.
type upliftModelJSON struct {
	Version      int      `json:"version"`
	Learner      string   `json:"learner"`
	Active       bool     `json:"active"`
	NTrain       int      `json:"n_train"`
	NHoldout     int      `json:"n_holdout"`
	Qini         *float64 `json:"qini"`
	AUUC         *float64 `json:"auuc"`
	UpliftAt30   *float64 `json:"uplift_at_30"`
	BaselineQini *float64 `json:"baseline_qini"`
	Reason       string   `json:"reason"`
	TrainedAt    string   `json:"trained_at"`
}

// listUpliftModels is GET /api/v1/insights/models: the shop's trained
// uplift models, newest first, with their held-out metrics and which one
// the app uses.
func (a *App) listUpliftModels(c echo.Context) error {
	ms, err := a.store.ListUpliftModels(c.Request().Context(), shopOf(c).ID, 50)
	if err != nil {
		return err
	}
	out := list[upliftModelJSON]{Items: []upliftModelJSON{}}
	for _, m := range ms {
		out.Items = append(out.Items, upliftModelJSON{Version: m.Version, Learner: m.Learner, Active: m.Active, NTrain: m.NTrain, NHoldout: m.NHoldout,
			Qini: m.Qini, AUUC: m.AUUC, UpliftAt30: m.UpliftAt30, BaselineQini: m.BaselineQini, Reason: m.Reason,
			TrainedAt: m.TrainedAt.UTC().Format(time.RFC3339)})
	}
	return c.JSON(http.StatusOK, out)
}
