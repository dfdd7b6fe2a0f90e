package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/jobs"
)

// settingsRoutes lists GET|PATCH /api/v1/settings.
func (a *App) settingsRoutes(api *echo.Group) {
	api.GET("/settings", a.getSettings)
	api.PATCH("/settings", a.patchSettings)
}

// settingsBodyLimit bounds a settings document (ip_lists can be long).
const settingsBodyLimit = 1 << 20

// getSettings is GET /api/v1/settings: every setting, defaults filled in.
func (a *App) getSettings(c echo.Context) error {
	return c.JSON(http.StatusOK, jobs.ParseShopSettings(shopOf(c).Settings))
}

// patchSettings is PATCH /api/v1/settings: the keys present replace the
// stored ones ("fraud" key by key); each is validated first and a bad one
// is 422 naming the field (code invalid_<field>). null resets a key to its
// default. The answer is the whole document, as GET shows it.
func (a *App) patchSettings(c echo.Context) error {
	sh := shopOf(c)
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, settingsBodyLimit+1))
	if err != nil {
		return err
	}
	if len(body) > settingsBodyLimit {
		return errCode(http.StatusRequestEntityTooLarge, "body_too_large", "the settings document is too large")
	}
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(body, &patch); err != nil || patch == nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be a JSON object")
	}
	cur := map[string]json.RawMessage{}
	_ = json.Unmarshal(sh.Settings, &cur)
	if cur == nil {
		cur = map[string]json.RawMessage{}
	}
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := patch[k]
		if isNull(v) {
			delete(cur, k)
			continue
		}
		switch k {
		case "hold_days":
			if err := intSetting(k, v, 0, 365); err != nil {
				return err
			}
		case "attribution_window_days":
			if err := intSetting(k, v, 1, 365); err != nil {
				return err
			}
		case "abandoned_checkout_delay_minutes":
			if err := intSetting(k, v, 1, jobs.MaxAbandonedCheckoutDelayMinutes); err != nil {
				return err
			}
		case "crediting_policy":
			var p jobs.PolicyJSON
			if err := json.Unmarshal(v, &p); err != nil {
				return invalidSetting(k, "must be a policy name or a policy object")
			}
			pol := p.Apply(attribution.Policy{Kind: attribution.CouponWins, WindowDays: attribution.DefaultWindowDays})
			if err := pol.Validate(); err != nil {
				return invalidSetting(k, strings.TrimPrefix(err.Error(), "attribution: "))
			}
		case "fraud":
			merged, err := mergeFraud(cur["fraud"], v)
			if err != nil {
				return err
			}
			v = merged
		default:
			return errCode(http.StatusUnprocessableEntity, "unknown_setting", fmt.Sprintf("%s: no such setting", k))
		}
		cur[k] = v
	}
	doc, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	if err := a.store.SetShopSettings(c.Request().Context(), sh.ID, doc, a.now()); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, jobs.ParseShopSettings(doc))
}

func isNull(v json.RawMessage) bool {
	return len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null"
}

func invalidSetting(field, msg string) error {
	code := "invalid_" + strings.ReplaceAll(field, ".", "_")
	return errCode(http.StatusUnprocessableEntity, code, field+": "+msg)
}

func intSetting(field string, v json.RawMessage, lo, hi int) error {
	var n int
	if err := json.Unmarshal(v, &n); err != nil || n < lo || n > hi {
		return invalidSetting(field, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
	}
	return nil
}

// mergeFraud overlays a patch of the fraud object on the stored one (or
// the defaults) and validates the result.
func mergeFraud(stored, patch json.RawMessage) (json.RawMessage, error) {
	f := jobs.DefaultFraudSettings()
	if len(stored) > 0 {
		_ = json.Unmarshal(stored, &f)
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil || p == nil {
		return nil, invalidSetting("fraud", "must be an object")
	}
	for k, v := range p {
		var err error
		switch k {
		case "mode":
			err = json.Unmarshal(v, &f.Mode)
		case "thresholds":
			var th map[string]json.RawMessage
			if err = json.Unmarshal(v, &th); err != nil {
				break
			}
			for name, tv := range th {
				var dst *int
				switch name {
				case "flag":
					dst = &f.Thresholds.Flag
				case "hold":
					dst = &f.Thresholds.Hold
				case "reject":
					dst = &f.Thresholds.Reject
				default:
					return nil, invalidSetting("fraud.thresholds", name+": no such threshold (flag, hold, reject)")
				}
				if json.Unmarshal(tv, dst) != nil {
					return nil, invalidSetting("fraud.thresholds", name+": must be a whole number from 0 (off) to 100")
				}
			}
		case "auto_disable_leaked_codes":
			err = json.Unmarshal(v, &f.AutoDisableLeakedCodes)
		case "ip_lists":
			f.IPLists = nil
			err = json.Unmarshal(v, &f.IPLists)
			if f.IPLists == nil {
				f.IPLists = []string{}
			}
		default:
			return nil, invalidSetting("fraud."+k, "no such setting")
		}
		if err != nil {
			return nil, invalidSetting("fraud."+k, "has the wrong type")
		}
	}
	if field, err := f.Validate(); err != nil {
		return nil, invalidSetting(field, err.Error())
	}
	return json.Marshal(f)
}
