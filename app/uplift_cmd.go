package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/coupontrail/coupontrail/app/uplift"
)

const upliftUsage = "uplift eval --csv FILE --treatment COL --treated VALUE --control VALUE --outcome COL [--features a,b,c | --exclude x,y] [--model tlearner|tlearner-gam|slearner-gam|ensemble|xlearner|tlearner-gbdt] [--holdout 0.3] [--seed N | --seeds A-B] [--json]"

// runUplift is `coupontrail uplift eval`: it scores an uplift model on a
// deterministic holdout of a randomised experiment read from a CSV, with
// scikit-uplift 0.5 metrics and their random-score noise floor.
func runUplift(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const summary = "Evaluate an uplift model on a randomised experiment in a CSV: SplitMix64 holdout split, " +
		"model fitted on the training rows, Qini coefficient, normalised AUUC and uplift@30% on the holdout " +
		"(scikit-uplift 0.5 definitions) next to the noise floor of 200 random scorings."
	if len(args) == 0 || args[0] != "eval" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(stderr, "Usage: coupontrail %s\n\n%s\n", upliftUsage, summary)
			return nil
		}
		return usageErr("want a subcommand: %s", upliftUsage)
	}
	reg := uplift.NewRegistry()
	fs := newFlags("uplift eval", upliftUsage, summary, stderr)
	csvPath := fs.String("csv", "", "experiment CSV with a header row (required)")
	treatment := fs.String("treatment", "", "column holding the arm (required)")
	treated := fs.String("treated", "", "value of --treatment marking treated rows (required)")
	control := fs.String("control", "", "value of --treatment marking control rows (required); rows with other values are skipped")
	outcome := fs.String("outcome", "", "outcome column, 0/1 or numeric (required)")
	features := fs.String("features", "", "comma-separated feature columns (default: all other columns minus --exclude)")
	exclude := fs.String("exclude", "", "comma-separated columns to leave out of the default features (e.g. other outcomes that leak)")
	model := fs.String("model", uplift.NameTLearner, "uplift model: "+strings.Join(reg.Names(), ", "))
	holdout := fs.Float64("holdout", uplift.DefaultHoldout, "holdout share of the rows, in (0, 1)")
	seed := fs.Uint64("seed", 42, "split seed")
	seeds := fs.String("seeds", "", "seed range A-B: run every seed and report mean and sd (overrides --seed)")
	noise := fs.Int("noise-rounds", uplift.DefaultNoiseRounds, "random scorings for the noise floor (0 to skip)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	for _, req := range []struct{ name, val string }{
		{"csv", *csvPath}, {"treatment", *treatment}, {"treated", *treated}, {"control", *control}, {"outcome", *outcome},
	} {
		if req.val == "" {
			return usageErr("--%s is required", req.name)
		}
	}
	if *treated == *control {
		return usageErr("--treated and --control are both %q", *treated)
	}
	if *features != "" && *exclude != "" {
		return usageErr("--features and --exclude are mutually exclusive")
	}
	if _, err := reg.New(*model, 0); err != nil {
		return usageErr("--model %q: want one of %s", *model, strings.Join(reg.Names(), ", "))
	}
	if !(*holdout > 0 && *holdout < 1) {
		return usageErr("--holdout %v: want a share in (0, 1)", *holdout)
	}
	if *noise < 0 {
		return usageErr("--noise-rounds %d: want >= 0", *noise)
	}
	from, to := *seed, *seed
	multi := *seeds != ""
	if multi {
		var err error
		if from, to, err = parseSeedRange(*seeds); err != nil {
			return usageErr("--seeds %q: %v", *seeds, err)
		}
	}

	f, err := os.Open(*csvPath)
	if err != nil {
		return fmt.Errorf("open CSV: %w", err)
	}
	defer f.Close()
	exp, err := uplift.LoadCSV(f, uplift.Spec{
		Treatment: *treatment, Treated: *treated, Control: *control, Outcome: *outcome,
		Features: splitList(*features), Exclude: splitList(*exclude),
	})
	if errors.Is(err, uplift.ErrSpec) {
		return usageErr("%v", err)
	}
	if err != nil {
		return err
	}
	cfg := uplift.EvalConfig{Model: *model, Holdout: *holdout, Seed: from, NoiseRounds: *noise}
	if !multi {
		res, err := uplift.Evaluate(ctx, exp, reg, cfg)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, res)
		}
		return writeUpliftTable(stdout, exp, []*uplift.Result{res}, nil)
	}
	sum, err := uplift.EvaluateSeeds(ctx, exp, reg, cfg, from, to)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, sum)
	}
	return writeUpliftTable(stdout, exp, sum.Runs, sum)
}

// parseSeedRange parses "A-B" (or a single "A") with A <= B.
func parseSeedRange(s string) (from, to uint64, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if from, err = strconv.ParseUint(strings.TrimSpace(a), 10, 64); err != nil {
		return 0, 0, errors.New("want A-B with non-negative integers")
	}
	if to, err = strconv.ParseUint(strings.TrimSpace(b), 10, 64); err != nil {
		return 0, 0, errors.New("want A-B with non-negative integers")
	}
	if from > to {
		return 0, 0, errors.New("A is greater than B")
	}
	if to-from >= 10000 {
		return 0, 0, errors.New("at most 10000 seeds")
	}
	return from, to, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeUpliftTable(w io.Writer, exp *uplift.Experiment, runs []*uplift.Result, sum *uplift.SeedSummary) error {
	s := exp.Spec
	fmt.Fprintf(w, "uplift eval: model %s, outcome %s, %s=%q vs %q, metrics %s\n",
		runs[0].Model, s.Outcome, s.Treatment, s.Treated, s.Control, uplift.MetricConvention)
	fmt.Fprintf(w, "features: %s\n\n", strings.Join(s.Features, ", "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "seed\tn_train\tn_holdout\tqini_coefficient\tauuc_normalized\tuplift_at_30\tnoise qini p95\tnoise uplift@30 p95\t")
	for _, r := range runs {
		qp, up := "-", "-"
		if nf := r.NoiseFloor; nf != nil {
			qp, up = fmtMetric(nf.QiniP95), fmtMetric(nf.UpliftAtP95)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", r.Seed, r.NTrain, r.NHoldout,
			fmtMetric(r.Qini), fmtMetric(r.AUUC), fmtMetric(r.UpliftAt30), qp, up)
	}
	if sum != nil {
		for _, row := range []struct {
			label string
			m     map[string]uplift.Metric
		}{{"mean", sum.Mean}, {"sd", sum.SD}} {
			get := func(k string) string {
				if v, ok := row.m[k]; ok {
					return fmtMetric(v)
				}
				return "-"
			}
			fmt.Fprintf(tw, "%s\t\t\t%s\t%s\t%s\t%s\t%s\t\n", row.label, get("qini_coefficient"), get("auuc_normalized"),
				get("uplift_at_30"), get("noise_floor.qini_coefficient_p95"), get("noise_floor.uplift_at_30_p95"))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(runs) == 1 && runs[0].NoiseFloor != nil {
		fmt.Fprintf(w, "\nnoise floor: %d random scorings from %s\n", runs[0].NoiseFloor.Rounds, runs[0].NoiseFloor.Source)
	}
	return nil
}

func fmtMetric(m uplift.Metric) string { return strconv.FormatFloat(float64(m), 'f', 12, 64) }
