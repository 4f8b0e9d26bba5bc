package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/telos-dev/telos/stack"
	"github.com/telos-dev/telos/store"
)

// The load both benchmarks drive.
const (
	runs        = 200
	concurrency = 8
	// warmup runs of each kind go first, untimed, so that neither side pays
	// for task queue creation or cold caches.
	warmup = 2 * concurrency
	// pollEvery is how often a run's status is read while it runs.
	pollEvery  = 10 * time.Millisecond
	runTimeout = 2 * time.Minute
	// rounds is how many turns the agent and the bare workflow take at the
	// runs of BenchmarkOrchestration.
	rounds = 4
)

const adminKey = "tls_bench_admin_key_for_benchmarks_0001"

// bareQueue is the task queue of the bare Temporal workflow.
const bareQueue = "bench-bare"

const agentName = "bench-digest"

// agentYAML is a 3-step agent: a connector read, an LLM step on sim and a
// connector write, so that each run writes three ledger entries.
const agentYAML = `apiVersion: telos/v1
kind: Agent
metadata:
  name: bench-digest
spec:
  purpose:
    category: engineering-productivity
    statement: Measure the orchestration overhead of a small agent.
  model: gpt-4o-mini
  steps:
    - id: fetch
      purpose: Read the release notes.
      connector: files.read
      with: { path: notes.md }
    - id: summarize
      purpose: Pick out breaking changes.
      llm:
        prompt: "List breaking changes:\n${{ steps.fetch.output.content }}"
        max_tokens: 64
    - id: deliver
      purpose: Deliver the digest.
      connector: inbox.deliver
      with: { title: Bench digest, text: "${{ steps.summarize.output.text }}" }
`

// notes is the small file the agent reads.
const notes = `# Changelog

## v1.1.0
- breaking: Client.Do now takes a context.
- security fix: reject oversized headers.

## v1.0.1
- fix: retry on connection reset.
`

// filesRoot makes a FilesRoot directory holding only notes.md.
func filesRoot(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.md"), []byte(notes), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkOrchestration measures runs per second of the 3-step agent started
// through the API against a bare workflow of 3 no-op activities, both on the
// same embedded Temporal server, and reports their ratio.
func BenchmarkOrchestration(b *testing.B) {
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Config{
		Addr:      "127.0.0.1:0",
		DataDir:   b.TempDir(),
		RunWorker: true,
		RunAPI:    true,
		FilesRoot: filesRoot(b),
		AdminKey:  adminKey,
	})
	if err != nil {
		b.Fatalf("start stack: %v", err)
	}
	defer s.Close()

	w := worker.New(s.Temporal, bareQueue, worker.Options{})
	w.RegisterWorkflow(bareWorkflow)
	w.RegisterActivity(noopActivity)
	if err := w.Start(); err != nil {
		b.Fatalf("start bare worker: %v", err)
	}
	defer w.Stop()

	api := newAPIClient(s.URL, adminKey)
	if err := api.deploy(ctx, agentYAML); err != nil {
		b.Fatal(err)
	}

	// A run is waited for the way the bare workflow is, on its workflow's
	// result, so that the comparison does not count the cost of polling; the
	// store must then say it completed, which its last activity recorded.
	var lastRun atomic.Value
	telosRun := func(ctx context.Context) error {
		id, err := api.startRun(ctx, agentName)
		if err != nil {
			return err
		}
		lastRun.Store(id)
		r, err := s.Store.Run(ctx, id)
		if err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		if err := s.Temporal.GetWorkflow(ctx, r.WorkflowID, "").Get(ctx, nil); err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		if r, err = s.Store.Run(ctx, id); err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		if r.Status != store.RunCompleted {
			return fmt.Errorf("run %s: got status %s (%s), want completed", id, r.Status, r.Error)
		}
		return nil
	}
	var seq atomic.Int64
	bareRun := func(ctx context.Context) error {
		wr, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:        fmt.Sprintf("bench-bare-%d", seq.Add(1)),
			TaskQueue: bareQueue,
		}, bareWorkflow)
		if err != nil {
			return fmt.Errorf("start bare workflow: %w", err)
		}
		if err := wr.Get(ctx, nil); err != nil {
			return fmt.Errorf("bare workflow %s: %w", wr.GetID(), err)
		}
		return nil
	}

	for _, run := range []func(context.Context) error{telosRun, bareRun} {
		if _, err := drive(ctx, warmup, concurrency, run); err != nil {
			b.Fatalf("warm up: %v", err)
		}
	}

	// The two kinds take turns in rounds, each round in the other order, so
	// that load from elsewhere on the machine falls on both alike.
	var telos, bare load
	var roundRatios []string
	for b.Loop() {
		for r := range rounds {
			var telosRound, bareRound load
			telosFirst := r%2 == 0
			for _, isTelos := range []bool{telosFirst, !telosFirst} {
				run, got := bareRun, &bareRound
				if isTelos {
					run, got = telosRun, &telosRound
				}
				var err error
				if *got, err = drive(ctx, runs/rounds, concurrency, run); err != nil {
					b.Fatalf("round %d: %v", r+1, err)
				}
			}
			telos.add(telosRound)
			bare.add(bareRound)
			roundRatios = append(roundRatios, fmt.Sprintf("%.2f", telosRound.rate()/bareRound.rate()))
		}
	}

	// Each run is expected to leave one ledger entry per step.
	var led struct {
		Items []json.RawMessage `json:"items"`
	}
	id, _ := lastRun.Load().(string)
	if err := api.call(ctx, "GET", "/v1/runs/"+id+"/ledger", "", nil, http.StatusOK, &led); err != nil {
		b.Fatal(err)
	}

	ratio := telos.rate() / bare.rate()
	b.ReportMetric(telos.rate(), "telos_runs/s")
	b.ReportMetric(bare.rate(), "bare_runs/s")
	b.ReportMetric(ratio, "ratio")
	fmt.Printf("\nOrchestration on one embedded Temporal server (%d runs of each in %d alternating rounds, concurrency %d, sim LLM):\n", len(telos.latencies), rounds, concurrency)
	fmt.Printf("  telos  3-step agent via POST /v1/agents/{name}/runs  %6.1f runs/s  (%.1fs; %s; %d ledger entries per run)\n", telos.rate(), telos.wall.Seconds(), telos.spread(), len(led.Items))
	fmt.Printf("  bare   workflow of 3 no-op activities                %6.1f runs/s  (%.1fs; %s)\n", bare.rate(), bare.wall.Seconds(), bare.spread())
	fmt.Printf("  ratio  telos/bare                                    %6.2f         (target >= 0.80; by round: %s)\n\n", ratio, strings.Join(roundRatios, " "))
}

// bareWorkflow is the baseline: three activities that do nothing, in order.
func bareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range 3 {
		if err := workflow.ExecuteActivity(ctx, noopActivity).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func noopActivity(context.Context) error { return nil }

// BenchmarkDevMemory builds `telos dev`, runs it as a subprocess and reports
// its resident memory idle and after a load of agent runs over HTTP, then
// checks that it stops cleanly on SIGINT.
func BenchmarkDevMemory(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "telos")
	build := exec.Command("go", "build", "-o", bin, "./cmd/telos")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build telos: %v\n%s", err, out)
	}
	root := filesRoot(b)

	for b.Loop() {
		logFile := filepath.Join(b.TempDir(), "telos.log")
		f, err := measureDev(context.Background(), bin, root, b.TempDir(), logFile)
		if err != nil {
			b.Fatalf("%v\n%s", err, tail(logFile))
		}
		b.ReportMetric(mb(f.idleRSS), "idle_rss_MB")
		b.ReportMetric(mb(f.idleHWM), "idle_peak_MB")
		b.ReportMetric(mb(f.loadHWM), "load_peak_MB")
		b.ReportMetric(f.runsPerSec, "dev_runs/s")
		fmt.Printf("\nMemory of `telos dev` (sim LLM; 1 MB = 1024 kB as /proc reports it):\n")
		fmt.Printf("  idle, 5s after /healthz       VmRSS %6.1f MB   VmHWM %6.1f MB   (target idle <= 400 MB)\n", mb(f.idleRSS), mb(f.idleHWM))
		fmt.Printf("  after %d runs, concurrency %d  VmRSS %6.1f MB   VmHWM %6.1f MB   (%.1f runs/s over HTTP; %s)\n", runs, concurrency, mb(f.loadRSS), mb(f.loadHWM), f.runsPerSec, f.spread)
		if f.exitAfter < 0 {
			fmt.Printf("  SIGINT: still running after 20s; killed\n\n")
			b.Errorf("telos dev did not exit within 20s of SIGINT\n%s", tail(logFile))
		} else {
			fmt.Printf("  SIGINT: exited with code %d after %.1fs\n\n", f.exitCode, f.exitAfter.Seconds())
			if f.exitCode != 0 {
				b.Errorf("telos dev exited with code %d after SIGINT, want 0\n%s", f.exitCode, tail(logFile))
			}
		}
	}
}

// devFigures is what one `telos dev` session measured; memory is in kB.
type devFigures struct {
	idleRSS, idleHWM int64
	loadRSS, loadHWM int64
	runsPerSec       float64
	spread           string // of the runs' latency
	exitCode         int
	exitAfter        time.Duration // negative when it had to be killed
}

// measureDev runs bin as `telos dev` until it serves, reads its memory idle,
// drives the agent runs through its API, reads its memory again and stops it
// with SIGINT. Its output goes to logFile.
func measureDev(ctx context.Context, bin, filesRoot, dataDir, logFile string) (f devFigures, err error) {
	addr, err := freeAddr()
	if err != nil {
		return f, err
	}
	out, err := os.Create(logFile)
	if err != nil {
		return f, err
	}
	defer out.Close()
	cmd := exec.Command(bin, "dev", "--addr", addr, "--data-dir", dataDir)
	cmd.Env = append(cleanEnv(), "TELOS_ADMIN_KEY="+adminKey, "TELOS_FILES_ROOT="+filesRoot)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return f, fmt.Errorf("start telos dev: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	}()

	api := newAPIClient("http://"+addr, adminKey)
	if err := waitHealthy(ctx, api, exited); err != nil {
		return f, err
	}
	select {
	case <-exited:
		return f, fmt.Errorf("telos dev exited while idle: %v", cmd.ProcessState)
	case <-time.After(5 * time.Second):
	}
	if f.idleRSS, f.idleHWM, err = procMemory(cmd.Process.Pid); err != nil {
		return f, err
	}

	if err := api.deploy(ctx, agentYAML); err != nil {
		return f, err
	}
	l, err := drive(ctx, runs, concurrency, func(ctx context.Context) error {
		id, err := api.startRun(ctx, agentName)
		if err != nil {
			return err
		}
		return waitCompleted(ctx, id, func(ctx context.Context) (runState, error) {
			var r runState
			err := api.call(ctx, "GET", "/v1/runs/"+id, "", nil, http.StatusOK, &r)
			return r, err
		})
	})
	if err != nil {
		return f, fmt.Errorf("runs: %w", err)
	}
	f.runsPerSec, f.spread = l.rate(), l.spread()
	if f.loadRSS, f.loadHWM, err = procMemory(cmd.Process.Pid); err != nil {
		return f, err
	}

	sent := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		return f, fmt.Errorf("send SIGINT: %w", err)
	}
	select {
	case <-exited:
		f.exitAfter, f.exitCode = time.Since(sent), cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		f.exitAfter, f.exitCode = -1, -1
	}
	return f, nil
}

// cleanEnv is this process's environment without TELOS_* and OpenAI
// settings, so that the subprocess runs on sim whatever the shell has set.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TELOS_") || strings.HasPrefix(kv, "OPENAI_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// waitHealthy polls /healthz until it answers 200, for at most a minute.
func waitHealthy(ctx context.Context, api apiClient, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if err := api.call(ctx, "GET", "/healthz", "", nil, http.StatusOK, nil); err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("telos dev exited before serving")
		case <-ctx.Done():
			return errors.New("telos dev did not serve /healthz within a minute")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// procMemory reads a process's resident set size and its high-water mark, in kB.
func procMemory(pid int) (rss, hwm int64, err error) {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s of pid %d: %w", key, pid, err)
		}
		if key == "VmRSS" {
			rss = kb
		} else {
			hwm = kb
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// freeAddr finds a free loopback address for the subprocess to listen on.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tail is the end of a log file, for failure messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// load is what driving calls measured.
type load struct {
	wall      time.Duration
	latencies []time.Duration // one per call, in no particular order
}

func (l *load) add(m load) {
	l.wall += m.wall
	l.latencies = append(l.latencies, m.latencies...)
}

// rate is calls per second of wall time.
func (l load) rate() float64 { return float64(len(l.latencies)) / l.wall.Seconds() }

// spread formats the median, 95th percentile and longest latency of a call.
func (l load) spread() string {
	d := slices.Clone(l.latencies)
	if len(d) == 0 {
		return "no calls"
	}
	slices.Sort(d)
	at := func(q float64) float64 { return d[int(q*float64(len(d)-1))].Seconds() }
	return fmt.Sprintf("latency p50 %.2fs p95 %.2fs max %.2fs", at(0.5), at(0.95), at(1))
}

// drive calls run n times from concurrency goroutines. The first error stops
// handing out calls and is returned.
func drive(ctx context.Context, n, concurrency int, run func(context.Context) error) (load, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	latencies := make([]time.Duration, n)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n) && ctx.Err() == nil; i = next.Add(1) - 1 {
				began := time.Now()
				if err := run(ctx); err != nil {
					cancel(err)
				}
				latencies[i] = time.Since(began)
			}
		})
	}
	wg.Wait()
	l := load{wall: time.Since(start), latencies: latencies}
	if ctx.Err() != nil {
		return l, context.Cause(ctx)
	}
	return l, nil
}

// runState is the part of a run that says whether it is done.
type runState struct {
	Status string `json:"status"`
	Error  string `json:"error"`
}

// waitCompleted polls a run's state until it stops running and fails unless
// it completed.
func waitCompleted(ctx context.Context, id string, state func(context.Context) (runState, error)) error {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	for {
		r, err := state(ctx)
		if err != nil {
			return fmt.Errorf("run %s: %w", id, err)
		}
		switch r.Status {
		case store.RunRunning:
		case store.RunCompleted:
			return nil
		default:
			return fmt.Errorf("run %s: got status %s (%s), want completed", id, r.Status, r.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("run %s: still running after %s", id, runTimeout)
		case <-time.After(pollEvery):
		}
	}
}

// apiClient calls a Telos API with one key over kept-alive connections.
type apiClient struct {
	url  string
	key  string
	http *http.Client
}

func newAPIClient(url, key string) apiClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Enough idle connections for every concurrent caller, so that the load
	// does not measure TCP handshakes.
	t.MaxIdleConnsPerHost = 4 * concurrency
	return apiClient{url: url, key: key, http: &http.Client{Transport: t, Timeout: 30 * time.Second}}
}

// call sends one request and decodes the answer into out (when not nil),
// failing unless the status is want.
func (c apiClient) call(ctx context.Context, method, path, contentType string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: got status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode %s: %w", method, path, b, err)
		}
	}
	return nil
}

// deploy creates an agent from a YAML document and takes its version through
// review so that it may run for real: c submits it, and a second admin, whose
// key c issues, approves it, since nobody approves their own agent.
func (c apiClient) deploy(ctx context.Context, yaml string) error {
	var v struct {
		Name    string `json:"name"`
		Team    string `json:"team"`
		Version int    `json:"version"`
	}
	if err := c.call(ctx, "POST", "/v1/agents", "application/yaml", []byte(yaml), http.StatusCreated, &v); err != nil {
		return fmt.Errorf("apply agent: %w", err)
	}
	path := fmt.Sprintf("/v1/agents/%s/versions/%d/", v.Name, v.Version)
	if err := c.call(ctx, "POST", path+"submit", "", nil, http.StatusOK, nil); err != nil {
		return fmt.Errorf("submit agent: %w", err)
	}
	var k struct {
		Key string `json:"key"`
	}
	body := []byte(`{"user":"bench-approver","team":"default","role":"admin"}`)
	if err := c.call(ctx, "POST", "/v1/keys", "application/json", body, http.StatusCreated, &k); err != nil {
		return fmt.Errorf("issue approver key: %w", err)
	}
	approver := c
	approver.key = k.Key
	if err := approver.call(ctx, "POST", path+"approve?team="+v.Team, "", nil, http.StatusOK, nil); err != nil {
		return fmt.Errorf("approve agent: %w", err)
	}
	return nil
}

// startRun starts a run of agent with no inputs and returns its id.
func (c apiClient) startRun(ctx context.Context, agent string) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	err := c.call(ctx, "POST", "/v1/agents/"+agent+"/runs", "application/json", []byte(`{"inputs":{}}`), http.StatusAccepted, &r)
	return r.ID, err
}
