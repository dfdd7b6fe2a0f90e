// Command coupontrail is the one binary of the app: the HTTP server, the
// workers, migrations, the dev store and the operator tools. This package is
// the composition root: it builds every dependency and passes it explicitly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/coupontrail/coupontrail/app/config"
)

// command is one subcommand.
type command struct {
	name, usage, summary string
	run                  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "serve", "run the HTTP server (admin UI, API, webhooks, SmartLinks)", runServe},
		{"worker", "worker", "run the asynq workers and the periodic scheduler", runWorker},
		{"all", "all", "run serve and worker in one process (development)", runAll},
		{"migrate", "migrate up|down|status", "apply, revert or list the SQL migrations", runMigrate},
		{"healthcheck", "healthcheck [--url URL]", "exit 0 when the server at HTTP_ADDR answers /readyz with 200 (container health checks)", runHealthcheck},
		{"apikey", "apikey create|list|revoke --shop DOMAIN", "manage a shop's API keys (create prints only the new key)", runAPIKey},
		{"demo", "demo install [--shop DOMAIN]", "install a demo shop from the dev store through the real token-exchange path", runDemo},
		{"uplift", "uplift eval ...", "evaluate an uplift model on an experiment CSV (scikit-uplift 0.5 metrics, noise floor)", runUplift},
		{"devstore", "devstore", "run the Shopify stand-in (OAuth, Admin GraphQL, webhooks) on DEVSTORE_ADDR", runDevstore},
	}
}

// exitUsage is the exit status for bad usage or configuration.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	for _, c := range cmds {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case config.IsConfigError(err), errors.Is(err, errUsage):
			fmt.Fprintln(stderr, "coupontrail "+c.name+": "+err.Error())
			return exitUsage
		default:
			fmt.Fprintln(stderr, "coupontrail "+c.name+": "+err.Error())
			return 1
		}
	}
	fmt.Fprintf(stderr, "coupontrail: unknown command %q\n", args[0])
	usage(stderr, cmds)
	return exitUsage
}

var errUsage = errors.New("usage")

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

func usage(w io.Writer, cmds []command) {
	fmt.Fprintln(w, "coupontrail: measurable coupon campaigns for Shopify")
	fmt.Fprintln(w, "\nUsage: coupontrail <command> [flags]\n\nCommands:")
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-24s %s\n", c.usage, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --help. Configuration comes from the environment:")
	envHelp(w)
}

func envHelp(w io.Writer) {
	for _, v := range config.Vars {
		def := v.Default
		if v.Secret && def != "" {
			def = "(set)"
		}
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(w, "  %-28s %s [default %s]\n", v.Name, v.Help, def)
	}
}

// newFlags returns a FlagSet whose --help prints the command's usage and
// environment.
func newFlags(name, usageLine, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: coupontrail %s\n\n%s\n", usageLine, summary)
		var hasFlags bool
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(stderr, "\nFlags:")
			fs.PrintDefaults()
		}
		fmt.Fprintln(stderr, "\nEnvironment:")
		envHelp(stderr)
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr("%v", err)
	}
	return nil
}

func loadConfig() (*config.Config, error) {
	return config.Load(os.Getenv)
}
