package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
)

// progress shows how far an import or export has come: a bar when stdout
// is a terminal, a plain line every few seconds otherwise (on stderr, so
// --output json and exported users on stdout stay clean).
type progress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	total int64
	done  int64
	last  time.Time
	verb  string
}

func (a *app) newProgress(verb string, total int64) *progress {
	p := &progress{w: a.stderr, total: total, verb: verb}
	if f, ok := a.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		max := total
		if max <= 0 {
			max = -1 // spinner
		}
		p.bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription(verb),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("users"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *progress) add(n int64, detail string) {
	p.done += n
	if p.bar != nil {
		_ = p.bar.Add64(n)
		return
	}
	if time.Since(p.last) < 2*time.Second {
		return
	}
	p.last = time.Now()
	total := "?"
	if p.total > 0 {
		total = fmt.Sprint(p.total)
	}
	fmt.Fprintf(p.w, "%s: %d/%s users (%s)\n", p.verb, p.done, total, detail)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// failure is one user an import could not take, or skipped as deleted.
type failure struct {
	Line     int    `json:"line,omitempty"`
	LegacyID string `json:"legacy_id,omitempty"`
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
}

// report is the final word of an import.
type report struct {
	Source            string    `json:"source"`
	Connection        string    `json:"connection"`
	StartedAfter      string    `json:"started_after,omitempty"`
	Checkpoint        string    `json:"checkpoint,omitempty"`
	Imported          int64     `json:"imported"`
	SkippedExists     int64     `json:"skipped_exists"`
	SkippedTombstoned int64     `json:"skipped_tombstoned"`
	Failed            int64     `json:"failed"`
	DurationSeconds   float64   `json:"duration_seconds"`
	Failures          []failure `json:"failures"`
}

func (r *report) add(c *authv1.ImportCounts) {
	r.Imported += c.GetImported()
	r.SkippedExists += c.GetSkippedExists()
	r.SkippedTombstoned += c.GetSkippedTombstoned()
	r.Failed += c.GetFailed()
}

func (r *report) summary() string {
	return fmt.Sprintf("imported %d, skipped %d (exists %d, tombstoned %d), failed %d",
		r.Imported, r.SkippedExists+r.SkippedTombstoned, r.SkippedExists, r.SkippedTombstoned, r.Failed)
}

func outcomeName(o authv1.ImportOutcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "IMPORT_OUTCOME_"))
}

func (a *app) printReport(r *report) error {
	if a.output == "json" {
		if r.Failures == nil {
			r.Failures = []failure{}
		}
		if err := a.printJSON(r); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "import of %s into connection %q finished in %.1fs\n", r.Source, r.Connection, r.DurationSeconds)
		rows := [][]string{{"imported", fmt.Sprint(r.Imported)}, {"skipped (already in Trickle)", fmt.Sprint(r.SkippedExists)},
			{"skipped (deleted in Trickle)", fmt.Sprint(r.SkippedTombstoned)}, {"failed", fmt.Sprint(r.Failed)}}
		if r.Checkpoint != "" {
			rows = append(rows, []string{"checkpoint (last legacy id)", r.Checkpoint})
		}
		if err := a.table("RESULT\tUSERS", rows); err != nil {
			return err
		}
		if len(r.Failures) > 0 {
			fmt.Fprintln(a.stdout)
			rows = rows[:0]
			for _, f := range r.Failures {
				line := "-"
				if f.Line > 0 {
					line = fmt.Sprint(f.Line)
				}
				rows = append(rows, []string{line, orDash(f.LegacyID), f.Outcome, f.Reason})
			}
			if err := a.table("LINE\tLEGACY ID\tOUTCOME\tREASON", rows); err != nil {
				return err
			}
		}
	}
	if r.Failed > 0 {
		return fmt.Errorf("%w: %d users not imported", errFailures, r.Failed)
	}
	return nil
}

func (a *app) importCmd() *cobra.Command {
	var o importOpts
	cmd := &cobra.Command{
		Use:   "import --connection NAME (--file USERS.jsonl | --from-connector)",
		Short: "Bulk-import legacy users with their password hashes (idempotent, resumable)",
		Long: `Imports legacy users with their legacy password hashes into a connection.
Users already in Trickle are skipped and never overwritten; users deleted in
Trickle (tombstones) are not re-imported. An imported user logs in with the
legacy hash once and is rehashed with argon2id then.

--file reads JSON Lines: one user per line, the legacy profile in snake_case
and password_hash {hash, format, salt}:

  {"legacy_id":"42","email":"ada@example.com","username":"ada","name":"Ada",
   "user_metadata":{"locale":"en"},"password_hash":{"hash":"$P$B..."}}

The checkpoint (the last line done) is kept in FILE.checkpoint; an
interrupted import resumes from it, a finished one removes it.

--from-connector makes authd pull the users from the connection's connector
(ListUsers with hashes); authd keeps the checkpoint (the last legacy id) and
resumes from it unless --restart or --start-after is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.connection == "":
				return usageError("--connection is required")
			case (o.file == "") == !o.fromConnector:
				return usageError("give exactly one of --file and --from-connector")
			case o.batch < 1 || o.batch > 1000:
				return usageError("--batch-size must be 1..1000")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if o.fromConnector {
				return a.importFromConnector(cmd.Context(), c, o)
			}
			return a.importFile(cmd.Context(), c, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.connection, "connection", "", "the connection to import into")
	f.StringVar(&o.file, "file", "", "JSON Lines file of legacy users ('-' for stdin, not resumable)")
	f.BoolVar(&o.fromConnector, "from-connector", false, "pull the users from the connection's connector")
	f.StringVar(&o.checkpoint, "checkpoint", "", "checkpoint file of a --file import (default FILE.checkpoint)")
	f.BoolVar(&o.restart, "restart", false, "ignore the checkpoint and start from the beginning")
	f.StringVar(&o.startAfter, "start-after", "", "--from-connector: start after this legacy id")
	f.Int64Var(&o.limit, "limit", 0, "--from-connector: stop after this many legacy users")
	f.IntVar(&o.batch, "batch-size", 500, "--file: users per ImportUsers call")
	return cmd
}

type importOpts struct {
	connection, file, checkpoint, startAfter string
	fromConnector, restart                   bool
	limit                                    int64
	batch                                    int
}

func (a *app) importFromConnector(ctx context.Context, c authv1.ManagementServiceClient, o importOpts) error {
	start := time.Now()
	stream, err := c.ImportFromConnector(ctx, &authv1.ImportFromConnectorRequest{
		Connection: o.connection, StartAfterLegacyId: o.startAfter, Resume: !o.restart && o.startAfter == "", Limit: o.limit,
	})
	if err != nil {
		return err
	}
	r := &report{Source: "connector", Connection: o.connection}
	var bar *progress
	var seen int64
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if bar != nil {
				bar.finish()
			}
			if r.Checkpoint != "" {
				fmt.Fprintf(a.stderr, "import stopped after legacy id %s; run the same command again to resume\n", r.Checkpoint)
			}
			return err
		}
		if bar == nil {
			bar = a.newProgress("importing", resp.GetLegacyTotal())
			r.StartedAfter = resp.GetStartedAfterLegacyId()
			if r.StartedAfter != "" {
				fmt.Fprintf(a.stderr, "resuming after legacy id %s\n", r.StartedAfter)
			}
		}
		counts := resp.GetCounts()
		total := counts.GetImported() + counts.GetSkippedExists() + counts.GetSkippedTombstoned() + counts.GetFailed()
		bar.add(total-seen, fmt.Sprintf("imported %d, failed %d", counts.GetImported(), counts.GetFailed()))
		seen = total
		r.Checkpoint = resp.GetCheckpointLegacyId()
		r.Imported, r.SkippedExists, r.SkippedTombstoned, r.Failed = 0, 0, 0, 0
		r.add(counts)
		for _, f := range resp.GetFailures() {
			r.Failures = append(r.Failures, failure{LegacyID: f.GetLegacyId(), Outcome: outcomeName(f.GetOutcome()), Reason: f.GetReason()})
		}
	}
	if bar != nil {
		bar.finish()
	}
	r.DurationSeconds = time.Since(start).Seconds()
	return a.printReport(r)
}

// fileCheckpoint is what a --file import remembers: the last line whose
// batch authd answered, for this file.
type fileCheckpoint struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

func writeCheckpoint(path string, cp fileCheckpoint) error {
	b, _ := json.Marshal(cp)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// maxBatchBytes keeps a batch under authd's 1 MiB message limit.
const maxBatchBytes = 512 << 10

func (a *app) importFile(ctx context.Context, c authv1.ManagementServiceClient, o importOpts) error {
	start := time.Now()
	in, total, abs, done, err := a.openImportFile(&o)
	if err != nil {
		return err
	}
	defer done()
	skip, err := a.resumePoint(o, abs)
	if err != nil {
		return err
	}
	r := &report{Source: o.file, Connection: o.connection}
	if skip > 0 {
		r.StartedAfter = fmt.Sprintf("line %d", skip)
	}
	bar := a.newProgress("importing", total)
	bar.add(int64(skip), "")
	defer bar.finish()
	b := &fileBatch{a: a, c: c, o: o, abs: abs, skip: skip, r: r, bar: bar}
	line, err := b.readAll(ctx, in)
	if err != nil {
		return err
	}
	if err := b.flush(ctx, line); err != nil {
		return err
	}
	bar.finish()
	if o.checkpoint != "" {
		_ = os.Remove(o.checkpoint) // done: a re-run starts over (and skips everyone)
	}
	r.DurationSeconds = time.Since(start).Seconds()
	return a.printReport(r)
}

// openImportFile opens --file (or standard input for "-"), counts its
// lines for the progress bar and defaults the checkpoint beside it.
func (a *app) openImportFile(o *importOpts) (in io.Reader, total int64, abs string, done func(), err error) {
	if o.file == "-" {
		return a.stdin, 0, o.file, func() {}, nil
	}
	f, err := os.Open(o.file)
	if err != nil {
		return nil, 0, "", nil, usageError("--file: %v", err)
	}
	fail := func(err error) (io.Reader, int64, string, func(), error) { f.Close(); return nil, 0, "", nil, err }
	if abs, err = filepath.Abs(o.file); err != nil {
		return fail(err)
	}
	if total, err = countLines(f); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	if o.checkpoint == "" {
		o.checkpoint = o.file + ".checkpoint"
	}
	return f, total, abs, func() { f.Close() }, nil
}

// resumePoint is the line a previous run's checkpoint says to resume
// after (0 without one, or with --restart).
func (a *app) resumePoint(o importOpts, abs string) (int, error) {
	if o.checkpoint == "" || o.restart {
		return 0, nil
	}
	b, err := os.ReadFile(o.checkpoint)
	if err != nil {
		return 0, nil
	}
	var cp fileCheckpoint
	if err := json.Unmarshal(b, &cp); err != nil || cp.File != abs {
		return 0, usageError("checkpoint %s is not for %s: remove it or pass --restart", o.checkpoint, o.file)
	}
	fmt.Fprintf(a.stderr, "resuming after line %d (checkpoint %s; --restart to start over)\n", cp.Line, o.checkpoint)
	return cp.Line, nil
}

// fileBatch collects the users of a file import into batches and sends
// each, keeping the report, the progress bar and the checkpoint.
type fileBatch struct {
	a   *app
	c   authv1.ManagementServiceClient
	o   importOpts
	abs string
	r   *report
	bar *progress

	skip  int
	users []*authv1.LegacyUser
	lines []int // users[i] is on line lines[i]
	size  int
}

// readAll reads the users after the resume point, flushing full batches;
// it returns the last line read.
func (b *fileBatch) readAll(ctx context.Context, in io.Reader) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if line <= b.skip {
			continue
		}
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			b.bar.add(1, b.r.summary())
			continue
		}
		var u authv1.LegacyUser
		if err := protojson.Unmarshal(raw, &u); err != nil {
			b.r.Failed++
			b.r.Failures = append(b.r.Failures, failure{Line: line, Outcome: "failed", Reason: lineError(err)})
			b.bar.add(1, b.r.summary())
			continue
		}
		if b.size+len(raw) > maxBatchBytes && len(b.users) > 0 {
			if err := b.flush(ctx, line-1); err != nil {
				return line, err
			}
		}
		b.users, b.lines, b.size = append(b.users, &u), append(b.lines, line), b.size+len(raw)
		if len(b.users) >= b.o.batch {
			if err := b.flush(ctx, line); err != nil {
				return line, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return line, fmt.Errorf("read %s line %d: %w", b.o.file, line+1, err)
	}
	return line, nil
}

// flush sends the batch, records its failures in file-line order and
// moves the checkpoint to lastLine.
func (b *fileBatch) flush(ctx context.Context, lastLine int) error {
	if len(b.users) > 0 {
		resp, err := b.a.importBatch(ctx, b.c, b.o.connection, b.users)
		if err != nil {
			if lastLine > 0 && b.o.checkpoint != "" {
				fmt.Fprintf(b.a.stderr, "import stopped before line %d; run the same command again to resume\n", b.lines[0])
			}
			return err
		}
		b.r.add(resp.GetCounts())
		for i, res := range resp.GetResults() {
			if o := res.GetOutcome(); o == authv1.ImportOutcome_IMPORT_OUTCOME_FAILED || o == authv1.ImportOutcome_IMPORT_OUTCOME_SKIPPED_TOMBSTONED {
				b.r.Failures = append(b.r.Failures, failure{Line: b.lines[i], LegacyID: res.GetLegacyId(), Outcome: outcomeName(o), Reason: res.GetReason()})
			}
		}
	}
	if b.o.checkpoint != "" && lastLine > b.skip {
		if err := writeCheckpoint(b.o.checkpoint, fileCheckpoint{File: b.abs, Line: lastLine}); err != nil {
			return fmt.Errorf("write checkpoint: %w", err)
		}
	}
	b.bar.add(int64(len(b.users)), b.r.summary())
	b.users, b.lines, b.size = b.users[:0], b.lines[:0], 0
	return nil
}

// writeExport writes the streamed users as JSON Lines and returns the
// last response (its counts cover the whole export).
func writeExport(stream grpc.ServerStreamingClient[authv1.ExportUnmigratedUsersResponse], w *bufio.Writer, bar *progress) (*authv1.ExportUnmigratedUsersResponse, error) {
	line := protojson.MarshalOptions{UseProtoNames: true}
	var last *authv1.ExportUnmigratedUsersResponse
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, u := range resp.GetUsers() {
			b, err := line.Marshal(u)
			if err != nil {
				return nil, err
			}
			w.Write(b)
			w.WriteByte('\n')
		}
		if bar != nil {
			bar.add(resp.GetScanned()-last.GetScanned(), "")
		}
		last = resp
	}
	if bar != nil {
		bar.finish()
	}
	return last, nil
}

// exportSummary reports the export's counts: JSON on stdout with --out and
// --output json, else a line on stderr.
func (a *app) exportSummary(connection string, last *authv1.ExportUnmigratedUsersResponse, toFile bool) error {
	summary := map[string]any{"connection": connection, "scanned": last.GetScanned(), "migrated": last.GetMigrated(),
		"tombstoned": last.GetTombstoned(), "unmigrated": last.GetScanned() - last.GetMigrated() - last.GetTombstoned(),
		"checkpoint_legacy_id": last.GetCheckpointLegacyId()}
	if toFile && a.output == "json" {
		return a.printJSON(summary)
	}
	fmt.Fprintf(a.stderr, "legacy users scanned %d: in Trickle %d, deleted in Trickle %d, not migrated %d\n",
		summary["scanned"], summary["migrated"], summary["tombstoned"], summary["unmigrated"])
	return nil
}

// lineError says what is wrong with a line without echoing its content
// (which may hold a password hash).
func lineError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "unknown field"); i >= 0 {
		return "not a legacy user object: " + msg[i:]
	}
	return "not a legacy user object (invalid JSON or a field of the wrong type)"
}

// importBatch sends one batch, retrying while authd or its store is
// unavailable (a batch is idempotent).
func (a *app) importBatch(ctx context.Context, c authv1.ManagementServiceClient, connection string, users []*authv1.LegacyUser) (*authv1.ImportUsersResponse, error) {
	backoff := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, a.timeout)
		resp, err := c.ImportUsers(cctx, &authv1.ImportUsersRequest{Connection: connection, Users: users})
		cancel()
		if err == nil || attempt == 5 || ctx.Err() != nil {
			return resp, err
		}
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			return nil, err
		}
		fmt.Fprintf(a.stderr, "batch failed (%v), retrying in %s\n", describe(err), backoff)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	last := byte('\n')
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if k > 0 {
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			if last != '\n' {
				n++
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func (a *app) exportCmd() *cobra.Command {
	var connection, out, startAfter string
	var limit int64
	cmd := &cobra.Command{
		Use:   "export-unmigrated --connection NAME [--out FILE]",
		Short: "Export the users still only in the legacy store, as JSON Lines without password hashes",
		Long: `Lists the connection's legacy users (the connector's ListUsers) that are not
in Trickle, one JSON object per line (the import format, without
password_hash), to plan the cut-over. Users deleted in Trickle are left out
and counted. The summary goes to stderr (or stdout with --out and --output json).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if connection == "" {
				return usageError("--connection is required")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			w := a.stdout
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return usageError("--out: %v", err)
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriter(w)
			stream, err := c.ExportUnmigratedUsers(cmd.Context(), &authv1.ExportUnmigratedUsersRequest{Connection: connection, StartAfterLegacyId: startAfter, Limit: limit})
			if err != nil {
				return err
			}
			var bar *progress
			if out != "" {
				bar = a.newProgress("exporting", 0)
			}
			last, err := writeExport(stream, bw, bar)
			if err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			return a.exportSummary(connection, last, out != "")
		},
	}
	cmd.Flags().StringVar(&connection, "connection", "", "the connection to export")
	cmd.Flags().StringVar(&out, "out", "", "write the users to this file instead of stdout")
	cmd.Flags().StringVar(&startAfter, "start-after", "", "start after this legacy id")
	cmd.Flags().Int64Var(&limit, "limit", 0, "stop after scanning this many legacy users")
	return cmd
}
