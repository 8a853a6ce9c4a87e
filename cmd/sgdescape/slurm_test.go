package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sgdescape/sgdescape/pkg/sweep"
)

// cluster is a single-node Slurm (munged, slurmctld, slurmd) started in a
// temporary directory on localhost; see /work/shared/notes/SLURM.md.
type cluster struct {
	dir   string
	env   []string // SLURM_CONF for the client commands
	procs []*exec.Cmd
}

// TestSlurmSweep runs a sweep through a real Slurm: `sweep submit` of 8
// tasks, one of which is killed on its first attempt; `status` reports it;
// a resubmission runs only that task; the collected table equals that of
// `sweep run -all` run locally with its own cache.
func TestSlurmSweep(t *testing.T) {
	t.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin") // the daemons live there on Debian
	for _, bin := range []string{"slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "munged", "mungekey"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("Slurm test skipped: %s is not installed (Debian: apt-get install slurmctld slurmd slurm-client munge; `make test` installs them when run as root)", bin)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("Slurm test skipped: it runs slurmd and its jobs as root, and this is not root")
	}
	if testing.Short() {
		t.Skip("Slurm test skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "sgdescape")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c := startCluster(t, filepath.Join(dir, "slurm"))
	t.Cleanup(c.stop) // pass or fail

	// The wrapper kills array task 3 on its first run.
	wrapper := filepath.Join(dir, "bin", "crash-once.sh")
	b, err := os.ReadFile("testdata/slurm/crash-once.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrapper, b, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), c.env...)
	env = append(env, "SGDESCAPE_CACHE="+filepath.Join(dir, "cache-slurm"), "SGDESCAPE_BIN="+bin,
		"CRASH_INDEX=3", "CRASH_MARK="+filepath.Join(dir, "crashed"))
	spec := filepath.Join(dir, "grid.json")
	os.WriteFile(spec, []byte(`{"experiment": "stationary", "base": {"samples": 300, "boot": 10, "N": 500},
		"axes": {"eta": [0.05, 0.1, 0.2, 0.4], "B": [1, 2]}, "slurm": {"time": "00:05:00", "max_parallel": 4}}`), 0o644)
	sgd := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}

	// 1. Submit all 8 tasks; task 3 is killed.
	code, out := sgd("sweep", "submit", spec, "-binary", wrapper, "-wait")
	t.Logf("first submission (exit %d):\n%s", code, out)
	if !strings.Contains(out, "submitted job") || !strings.Contains(out, "8 of 8 tasks (0-7)") {
		t.Fatalf("first submission: exit %d\n%s%s", code, out, c.logs())
	}
	scripts, _ := filepath.Glob(filepath.Join(dir, "grid.results", "submit-*.sbatch"))
	if len(scripts) != 1 {
		t.Fatalf("scripts %v", scripts)
	}
	if s, _ := os.ReadFile(scripts[0]); !bytes.Contains(s, []byte("#SBATCH --array=0-7%4\n")) {
		t.Errorf("first script:\n%s", s)
	}
	if code == 0 {
		t.Errorf("sbatch --wait reported success although task 3 was killed")
	}

	// 2. Status reports the killed task with the last lines of its log.
	code, out = sgd("sweep", "status", spec)
	t.Logf("status:\n%s", out)
	if code != 0 || !strings.Contains(out, "7 done, 0 failed, 1 missing") || !strings.Contains(out, "task 3 (eta=0.1 B=2) missing") ||
		!strings.Contains(out, "simulated crash of array task 3") {
		t.Fatalf("status after the crash: exit %d\n%s%s", code, out, c.logs())
	}
	keys := planKeys(t, spec)
	records := map[string][]byte{}
	for i, k := range keys {
		if i != 3 {
			records[k], _ = os.ReadFile(filepath.Join(dir, "grid.results", "tasks", k+".json"))
		}
	}

	// 3. Resubmission runs only the missing task.
	code, out = sgd("sweep", "submit", spec, "-binary", wrapper, "-wait")
	t.Logf("resubmission (exit %d):\n%s", code, out)
	if code != 0 || !strings.Contains(out, "1 of 8 tasks (3)") {
		t.Fatalf("resubmission: exit %d\n%s%s", code, out, c.logs())
	}
	jobID := strings.Fields(strings.SplitN(out, "submitted job ", 2)[1])[0]
	jobID = strings.TrimSuffix(jobID, ":")
	logs, _ := filepath.Glob(filepath.Join(dir, "grid.results", "logs", "*", jobID+"_*.err"))
	if len(logs) != 1 || !strings.HasSuffix(logs[0], jobID+"_3.err") {
		t.Errorf("the resubmitted job ran %v, want only task 3", logs)
	}
	for k, before := range records {
		after, _ := os.ReadFile(filepath.Join(dir, "grid.results", "tasks", k+".json"))
		if !bytes.Equal(before, after) {
			t.Errorf("record %s changed on resubmission", k)
		}
	}
	code, out = sgd("sweep", "status", spec)
	if !strings.Contains(out, "8 done, 0 failed, 0 missing") {
		t.Errorf("status after resubmission:\n%s", out)
	}
	code, out = sgd("sweep", "submit", spec, "-binary", wrapper)
	if code != 0 || !strings.Contains(out, "nothing to submit") {
		t.Errorf("third submission: exit %d %s", code, out)
	}
	if code, out = sgd("sweep", "collect", spec); code != 0 {
		t.Fatal(out)
	}
	slurmRecs, err := os.ReadFile(filepath.Join(dir, "grid.results", "tasks", keys[0]+".json"))
	if err != nil || !bytes.Contains(slurmRecs, []byte(`"job":"`)) {
		t.Errorf("record of task 0 does not name its Slurm job: %s", slurmRecs)
	}

	// 4. The same sweep run locally, with its own cache and results: same table.
	env = append(env, "SGDESCAPE_CACHE="+filepath.Join(dir, "cache-local"))
	if code, out = sgd("sweep", "run", spec, "-all", "-workers", "2", "-results", filepath.Join(dir, "local")); code != 0 {
		t.Fatalf("local run: %s", out)
	}
	if code, out = sgd("sweep", "collect", spec, "-results", filepath.Join(dir, "local")); code != 0 {
		t.Fatal(out)
	}
	a := tableWithoutProvenance(t, filepath.Join(dir, "grid.results", "table.csv"))
	l := tableWithoutProvenance(t, filepath.Join(dir, "local", "table.csv"))
	if len(a.Rows) != 8 || !reflect.DeepEqual(a.Columns, l.Columns) {
		t.Fatalf("columns differ:\n%v\n%v", a.Columns, l.Columns)
	}
	for r := range a.Rows {
		if !reflect.DeepEqual(a.Rows[r], l.Rows[r]) {
			t.Errorf("row %d differs:\nslurm %v\nlocal %v", r, a.Rows[r], l.Rows[r])
		}
	}
	jc, _ := os.ReadFile(filepath.Join(c.dir, "jobcomp.txt"))
	t.Logf("Slurm's job completion log:\n%s", jc)
}

// tableWithoutProvenance reads a collected table without the prov.* columns
// (host, wall times, cache flags), which differ between two runs.
func tableWithoutProvenance(t *testing.T, path string) *sweep.Frame {
	fr, err := sweep.ReadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []int
	out := &sweep.Frame{}
	for i, c := range fr.Columns {
		if !strings.HasPrefix(c, "prov.") {
			keep = append(keep, i)
			out.Columns = append(out.Columns, c)
		}
	}
	for _, r := range fr.Rows {
		var row []string
		for _, i := range keep {
			row = append(row, r[i])
		}
		out.Rows = append(out.Rows, row)
	}
	if len(out.Columns) < 20 {
		t.Fatalf("%s: only %d columns", path, len(out.Columns))
	}
	return out
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startCluster(t *testing.T, dir string) *cluster {
	t.Helper()
	c := &cluster{dir: dir}
	for _, d := range []string{"state", "spool", "munge"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p := dir; p != "/"; p = filepath.Dir(p) { // munged refuses a socket below a non-traversable directory
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o055 != 0o055 && strings.HasPrefix(p, os.TempDir()) {
			os.Chmod(p, fi.Mode().Perm()|0o755)
		}
	}
	key := filepath.Join(dir, "munge", "munge.key")
	if out, err := exec.Command("mungekey", "-c", "-k", key).CombinedOutput(); err != nil {
		t.Fatalf("mungekey: %v %s", err, out)
	}
	host, _ := os.Hostname()
	host = strings.SplitN(host, ".", 2)[0]
	node, err := exec.Command("slurmd", "-C").Output()
	if err != nil {
		t.Fatalf("slurmd -C: %v", err)
	}
	tmpl, err := os.ReadFile("testdata/slurm/slurm.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("{{DIR}}", dir, "{{HOST}}", host, "{{NODE}}", strings.SplitN(string(node), "\n", 2)[0],
		"{{CTLD_PORT}}", fmt.Sprint(freePort(t)), "{{SLURMD_PORT}}", fmt.Sprint(freePort(t))).Replace(string(tmpl))
	confPath := filepath.Join(dir, "slurm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c.env = []string{"SLURM_CONF=" + confPath}

	start := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), c.env...)
		logf, _ := os.Create(filepath.Join(dir, name+".out"))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			c.stop()
			t.Fatalf("starting %s: %v", name, err)
		}
		c.procs = append(c.procs, cmd)
	}
	waitFor := func(what string, ok func() bool) {
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				logs := c.logs()
				c.stop()
				t.Fatalf("Slurm test: %s did not happen within 30 s\n%s", what, logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	sock := filepath.Join(dir, "munge", "munge.socket")
	start("munged", "-F", "--key-file="+key, "--socket="+sock, "--seed-file="+filepath.Join(dir, "munge", "munged.seed"),
		"--pid-file="+filepath.Join(dir, "munge", "munged.pid"), "--log-file="+filepath.Join(dir, "munge", "munged.log"))
	waitFor("munged's socket", func() bool { _, err := os.Stat(sock); return err == nil })
	start("slurmctld", "-D", "-f", confPath)
	waitFor("scontrol ping", func() bool {
		cmd := exec.Command("scontrol", "ping")
		cmd.Env = append(os.Environ(), c.env...)
		out, _ := cmd.Output()
		return bytes.Contains(out, []byte("is UP"))
	})
	start("slurmd", "-D", "-f", confPath)
	waitFor("the node to be idle", func() bool {
		cmd := exec.Command("sinfo", "-h", "-N", "-o", "%t")
		cmd.Env = append(os.Environ(), c.env...)
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out)) == "idle"
	})
	return c
}

// stop cancels what is left in this cluster's queue (only this test's
// cluster: SLURM_CONF names it), then stops the daemons by PID: TERM, then
// KILL after 5 s.
func (c *cluster) stop() {
	if len(c.procs) == 3 {
		cmd := exec.Command("scancel", "--quiet", "--user=root")
		cmd.Env = append(os.Environ(), c.env...)
		if cmd.Run() == nil {
			time.Sleep(500 * time.Millisecond)
		}
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		if p.Process == nil || p.ProcessState != nil {
			continue
		}
		p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	c.procs = nil
}

// logs returns the tails of the daemons' logs, for failure messages.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, f := range []string{"slurmctld.log", "slurmd.log", "munged.out", "slurmctld.out", "slurmd.out", "munge/munged.log"} {
		data, err := os.ReadFile(filepath.Join(c.dir, f))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}
