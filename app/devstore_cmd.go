package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/coupontrail/coupontrail/app/config"
	"github.com/coupontrail/coupontrail/app/devstore"
)

func runDevstore(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("devstore", "devstore", "Run the dev store: a stand-in for Shopify (OAuth, token exchange, Admin GraphQL, storefront discount links, webhook delivery) for any number of shops, with a control API under /_dev.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, stderr).With("component", "devstore")
	base := "http://" + cfg.DevStoreAddr
	return devstore.Run(ctx, cfg.DevStoreAddr, devstore.Config{
		APIKey: cfg.ShopifyAPIKey, APISecret: cfg.ShopifyAPISecret, AppURL: cfg.AppURL, BaseURL: base,
		Logger: log, HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Now: func() time.Time { return time.Now().UTC() },
	})
}
