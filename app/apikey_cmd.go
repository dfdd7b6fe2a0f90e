package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify"
)

func runAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("apikey", "apikey create|list|revoke --shop DOMAIN [--name NAME] [--id ID]",
		"Manage a shop's API keys for server-to-server callers (Authorization: Bearer ct_...). create prints only the new key on stdout; it is stored hashed and cannot be shown again.", stderr)
	shop := fs.String("shop", "", "shop domain (x.myshopify.com)")
	name := fs.String("name", "", "a label for the key (create)")
	id := fs.String("id", "", "key id (revoke)")
	if len(args) == 0 {
		fs.Usage()
		return usageErr("want create, list or revoke")
	}
	action := args[0]
	if action == "-h" || action == "--help" {
		fs.Usage()
		return nil
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	domain, err := shopify.NormalizeShop(*shop)
	if err != nil {
		return usageErr("--shop must be a *.myshopify.com domain")
	}
	a, err := bootstrap(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	sh, err := a.store.ShopByDomain(ctx, domain)
	if err != nil {
		return fmt.Errorf("shop %s: %w (install the app first)", domain, err)
	}
	switch action {
	case "create":
		key, _, err := a.shops.CreateAPIKey(ctx, sh.ID, *name, a.rand)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
	case "list":
		ks, err := a.store.ListAPIKeys(ctx, sh.ID)
		if err != nil {
			return err
		}
		for _, k := range ks {
			state := "active"
			if k.RevokedAt != nil {
				state = "revoked " + k.RevokedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%-6d %-12s %-20s %s  %s\n", k.ID, k.Prefix+"…", k.Name, k.CreatedAt.UTC().Format(time.RFC3339), state)
		}
	case "revoke":
		n, err := strconv.ParseInt(*id, 10, 64)
		if err != nil {
			return usageErr("--id must be a key id from apikey list")
		}
		if err := a.store.RevokeAPIKey(ctx, sh.ID, n, a.now()); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "revoked")
	default:
		return usageErr("unknown action %q (want create, list or revoke)", action)
	}
	return nil
}
