#!/usr/bin/env python3
"""The benchmarks of issue 7, side by side with bpftrace.

Run through `scripts/bench`, which checks the prerequisites and builds the
release binary first. Each benchmark runs alternately with ferrotrace and
bpftrace (when installed), several rounds each; every run is verified
against the output the benchmark expects, and a run that did not produce it
is reported as an error instead of a number. Prints a table of medians,
spreads (min-max) and ratios ferrotrace/bpftrace, and writes every sample,
with the machine it came from, to a JSON file.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FT = "ferrotrace"
BT = "bpftrace"
READY = 'BEGIN { printf("ready\\n"); }'


class BenchError(Exception):
    """A run that did not produce what the benchmark expects. `transient`
    marks a hang (killed at a deadline), which may not repeat."""

    def __init__(self, message, transient=False):
        super().__init__(message)
        self.transient = transient


# --------------------------------------------------------------- processes


class Run:
    """One finished process: its output, exit status, timings and peak RSS."""

    def __init__(self):
        self.out = b""
        self.code = None
        self.start = 0.0
        self.end = 0.0
        self.ready_at = None
        self.signalled_at = None
        self.last_match_at = None
        self.maxrss_kib = 0

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    @property
    def wall(self):
        return self.end - self.start

    @property
    def exit_latency(self):
        return self.end - self.signalled_at


def first_error(run):
    """The tool's own first error line, for reporting a failed run."""
    for line in run.text.splitlines():
        if re.match(r"\s*(error|ERROR)\b", line) and "RLIMIT_MEMLOCK" not in line:
            return line.strip()
    tail = [l for l in run.text.splitlines() if l.strip()][-1:]
    if run.code is not None and run.code < 0:
        status = f"killed by {signal.Signals(-run.code).name}"
    else:
        status = f"exit status {run.code}"
    return status + (f": {tail[0].strip()}" if tail else "")


def run_tool(cmd, env=None, wait_ready=False, on_ready=None, timeout=120.0, match=None):
    """Runs `cmd` with stdout and stderr captured together.

    With `wait_ready`, waits for the program's BEGIN to print "ready", then
    calls `on_ready(run, proc)` (which typically makes load and sends
    SIGINT). `match` is a bytes prefix: the time of the last output chunk
    containing a line that starts with it is kept (throughput)."""
    run = Run()
    full_env = dict(os.environ)
    full_env.update(env or {})
    run.start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env
    )
    ready = threading.Event()
    chunks = []

    def reader():
        tail = b""
        seen_ready = False
        while True:
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            now = time.perf_counter()
            chunks.append(chunk)
            window = tail + chunk
            if not seen_ready and b"ready\n" in window:
                seen_ready = True
                run.ready_at = now
                ready.set()
            if match is not None and (b"\n" + match) in window:
                run.last_match_at = now
            tail = chunk[-64:]
        ready.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = run.start + timeout
    try:
        if wait_ready:
            output_ended = ready.wait(timeout)
            if run.ready_at is None and not output_ended:
                proc.kill()
                raise BenchError(f"{cmd[0]} did not print its BEGIN line within {timeout:.0f} s", transient=True)
            # Output ended without "ready": the tool is exiting; its own
            # error is collected below.
            if run.ready_at is not None and on_ready is not None:
                on_ready(run, proc)
        pid, status, rusage = wait_with_deadline(proc, deadline, run)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        raise
    run.end = time.perf_counter()
    thread.join(10)
    proc.returncode = os.waitstatus_to_exitcode(status)
    run.code = proc.returncode
    run.maxrss_kib = rusage.ru_maxrss
    run.out = b"".join(chunks)
    return run


def wait_with_deadline(proc, deadline, run):
    """os.wait4 on the process, killing it at the deadline, or 20 s after
    it was sent SIGINT."""
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, rusage
        now = time.perf_counter()
        if now > deadline or (run.signalled_at is not None and now > run.signalled_at + 20):
            proc.kill()
            pid, status, rusage = os.wait4(proc.pid, 0)
            raise BenchError(f"{proc.args[0]} did not exit in time (a SIGINT it ignored?); killed", transient=True)
        time.sleep(0.0005)


def interrupt(run, proc):
    run.signalled_at = time.perf_counter()
    proc.send_signal(signal.SIGINT)


class Loadgen:
    """The C load generator (scripts/bench-loadgen.c): pinned to a CPU, it
    announces its pid, waits for the go line, makes its calls and reports
    the CPU nanoseconds per call."""

    def __init__(self, ctx, mode, count, cpu):
        self.count = count
        self.proc = subprocess.Popen(
            [ctx.loadgen, mode, str(count), str(cpu)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self.proc.stdout.readline().split()
        if len(first) != 3 or first[0] != "pid":
            self.proc.kill()
            raise BenchError(f"the load generator did not start: {first}")
        self.pid, self.nr = int(first[1]), int(first[2])

    def go(self):
        """Runs the loop; returns (cpu ns per call, wall ns per call)."""
        out, _ = self.proc.communicate("go\n", timeout=300)
        m = re.search(r"cpu_ns_per_call ([\d.]+) wall_ns_per_call ([\d.]+)", out)
        if self.proc.returncode != 0 or not m:
            raise BenchError(f"the load generator failed: {out.strip()}")
        return float(m.group(1)), float(m.group(2))

    def cancel(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------ verification


def attached(run, tool):
    """The number of probes the tool says it attached (None if no line)."""
    m = re.search(r"Attach(?:ed|ing) (\d+) probes?", run.text)
    return int(m.group(1)) if m else None


def expect_ok(run, tool, probes=None):
    if run.code != 0:
        raise BenchError(first_error(run))
    n = attached(run, tool)
    if n is None:
        raise BenchError(f"no 'Attach... N probes' line in the output: {first_error(run)}")
    if probes is not None and n < probes:
        raise BenchError(f"attached {n} probes, expected at least {probes}")


def map_value(run, key_regex):
    """The value of the first map line `@name[key]: N` matching key_regex."""
    m = re.search(r"^" + key_regex + r": (\d+)$", run.text, re.M)
    return int(m.group(1)) if m else None


def hist_total(run):
    """The sum of the counts of every hist bucket line in the output."""
    return sum(int(m.group(1)) for m in re.finditer(r"^\[[^\n]*?\)\s+(\d+) \|", run.text, re.M))


# ------------------------------------------------------------- benchmarks


def args_of(tool):
    """bpftrace 0.17 spells tracepoint arguments `args->x`; ferrotrace
    follows 0.26's `args.x` (and warns on the old form)."""
    return "args->" if tool == BT else "args."


def b_startup(ctx, tool):
    run = run_tool(ctx.cmd(tool, "-e", "BEGIN { exit(); }"))
    expect_ok(run, tool, probes=1)
    return {"wall_ms": run.wall * 1e3, "peak_rss_mib": run.maxrss_kib / 1024}


EXIT_PROGRAM = (
    'BEGIN { @small[1] = 1; @small[2] = 2; @small[3] = 3; printf("ready\\n"); }\n'
    "tracepoint:syscalls:sys_enter_acct { @acct = count(); }"
)


def settle_then_interrupt(run, proc):
    # bpftrace 0.17 ignores a SIGINT that arrives within about 0.2 s after
    # its BEGIN output (it then runs until killed), so none is sent earlier
    # than 1 s after it. The latency is timed from the signal.
    time.sleep(max(0.0, run.ready_at + 1.0 - time.perf_counter()))
    interrupt(run, proc)


def b_exit_latency(ctx, tool):
    """SIGINT to exit with a 3-key map: with one tracepoint attached (whose
    detach the kernel makes wait for RCU), and with BEGIN alone."""
    metrics = {}
    for metric, program, probes in (
        ("sigint_to_exit_ms", EXIT_PROGRAM, 2),
        ("begin_only_sigint_to_exit_ms", EXIT_PROGRAM.splitlines()[0], 1),
    ):
        run = run_tool(ctx.cmd(tool, "-e", program), wait_ready=True, on_ready=settle_then_interrupt, timeout=30)
        expect_ok(run, tool, probes=probes)
        for k in (1, 2, 3):
            if map_value(run, rf"@small\[{k}\]") != k:
                raise BenchError(f"@small[{k}]: {k} missing from the map printed at exit")
        metrics[metric] = run.exit_latency * 1e3
    return metrics


ATTACH_MANY = "tracepoint:syscalls:sys_enter_* { @[probe] = count(); } interval:ms:200 { exit(); }"


def b_attach_many(ctx, tool):
    run = run_tool(ctx.cmd(tool, "-e", ATTACH_MANY), timeout=300)
    expect_ok(run, tool, probes=300)
    if not re.search(r"^@\[tracepoint:syscalls:sys_enter_\w+\]: \d+$", run.text, re.M):
        raise BenchError("no @[tracepoint:syscalls:sys_enter_...]: N line at exit")
    return {"wall_s": run.wall, "probes": attached(run, tool)}


def overhead_programs(tool, pid):
    a = args_of(tool)
    return {
        "floor": "tracepoint:raw_syscalls:sys_enter { }",
        "cheap": "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
        "heavy": f"tracepoint:raw_syscalls:sys_enter /pid == {pid}/ {{ @ = hist({a}id); }}",
    }


def traced_load(ctx, tool, program_for_pid, mode, count, cpu, env=None, check=None, header=""):
    """Starts a load generator, then the tracer with the program made for
    the generator's pid; once the tracer is ready, runs the load, stops the
    tracer with SIGINT and verifies its output with `check(run, loadgen)`.
    Returns (run, cpu ns per call)."""
    gen = Loadgen(ctx, mode, count, cpu)
    result = {}

    def on_ready(run, proc):
        result["ns"] = gen.go()
        settle_then_interrupt(run, proc)

    try:
        program = header + READY + "\n" + program_for_pid(gen.pid, gen.nr)
        run = run_tool(ctx.cmd(tool, "-e", program), env=env, wait_ready=True, on_ready=on_ready, timeout=300)
    finally:
        gen.cancel()
    expect_ok(run, tool)
    if "ns" not in result:
        raise BenchError("the tracer exited before the load ran")
    if check is not None:
        check(run, gen)
    return run, result["ns"][0]


def baseline_load(ctx, mode, count, cpu):
    gen = Loadgen(ctx, mode, count, cpu)
    try:
        return gen.go()[0]
    finally:
        gen.cancel()


def b_event_overhead(ctx, tool):
    count = ctx.args.syscalls
    metrics = {}
    failed = {}
    for cpu in ctx.cpus:
        for name in ("floor", "cheap", "heavy"):

            def check(run, gen, name=name):
                if name == "cheap":
                    got = map_value(run, r"@\[ft-loadgen\]")
                    if got is None or got < count:
                        raise BenchError(f"@[ft-loadgen] counted {got}, expected at least {count}")
                elif name == "heavy":
                    got = hist_total(run)
                    if got < count:
                        raise BenchError(f"the hist holds {got} events, expected at least {count}")

            key = f"{name}_extra_ns_cpu{cpu}"
            if name in failed:
                metrics[key] = failed[name]
                continue
            base = baseline_load(ctx, "getppid", count, cpu)
            try:
                _, traced = traced_load(
                    ctx, tool, lambda pid, nr: overhead_programs(tool, pid)[name], "getppid", count, cpu, check=check
                )
            except BenchError as e:
                # One program failing (e.g. a function not supported yet)
                # leaves the others' numbers standing.
                failed[name] = metrics[key] = e
                continue
            metrics[key] = traced - base
            metrics[f"baseline_ns_cpu{cpu}"] = base
        floor, cheap = metrics.get(f"floor_extra_ns_cpu{cpu}"), metrics.get(f"cheap_extra_ns_cpu{cpu}")
        if isinstance(floor, float) and isinstance(cheap, float) and floor > 0:
            metrics[f"cheap_over_floor_cpu{cpu}"] = cheap / floor
    return metrics


def b_memory(ctx, tool):
    count = 200_000

    def check(run, gen):
        got = map_value(run, r"@\[ft-loadgen\]")
        if got is None or got < count:
            raise BenchError(f"@[ft-loadgen] counted {got}, expected at least {count}")

    run, _ = traced_load(
        ctx,
        tool,
        lambda pid, nr: "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
        "getppid",
        count,
        0,
        check=check,
    )
    return {"peak_rss_mib": run.maxrss_kib / 1024}


def compile_script(n):
    body = "".join(f"  @m[{i}] = {i};\n" for i in range(n))
    return "BEGIN {\n" + body + "}\n"


def b_compile(ctx, tool):
    metrics = {}
    for n in ctx.args.compile_sizes:
        path = os.path.join(ctx.tmp, f"compile_{n}.bt")
        with open(path, "w") as f:
            f.write(compile_script(n))
        try:
            metrics[f"stmts_{n}_s"] = compile_once(ctx, tool, path, n)
        except BenchError as e:
            # Larger sizes may fail where smaller ones worked: keep those.
            metrics[f"stmts_{n}_s"] = e
    return metrics


def compile_once(ctx, tool, path, n):
    if tool == FT:
        run = run_tool(ctx.cmd(tool, "--dry-run", path), timeout=600)
        expect_ok(run, tool, probes=1)
        return run.wall
    elf = os.path.join(ctx.tmp, f"compile_{n}.o")
    if os.path.exists(elf):
        os.unlink(elf)
    run = run_tool(ctx.cmd(tool, "--emit-elf", elf, path), timeout=600)
    if run.code != 0:
        raise BenchError(first_error(run))
    with open(elf, "rb") as f:
        if f.read(4) != b"\x7fELF":
            raise BenchError(f"--emit-elf wrote no ELF object for {n} statements")
    return run.wall


def b_map_print(ctx, tool):
    keys = ctx.args.map_keys
    small = 100
    # bpftrace 0.17 sizes maps from the environment; ferrotrace (like
    # bpftrace 0.26) from the script's config block.
    env = {"BPFTRACE_MAP_KEYS_MAX": str(keys + 1024)}
    header = f"config = {{ max_map_keys = {keys + 1024} }}\n" if tool == FT else ""
    a = args_of(tool)
    exits = {}
    for n in (small, keys):

        def check(run, gen, n=n):
            got = len(re.findall(r"^@\[\d+\]: 1$", run.text, re.M))
            if got != n:
                raise BenchError(f"printed {got} map keys at exit, expected {n}")

        run, _ = traced_load(
            ctx,
            tool,
            lambda pid, nr: f"tracepoint:syscalls:sys_enter_close /pid == {pid}/ {{ @[{a}fd] = 1; }}",
            "close",
            n,
            0,
            env=env,
            check=check,
            header=header,
        )
        exits[n] = run.exit_latency
    return {
        "us_per_key": (exits[keys] - exits[small]) / (keys - small) * 1e6,
        "exit_s_all_keys": exits[keys],
    }


def b_throughput(ctx, tool):
    count = ctx.args.events
    a = args_of(tool)
    gen = Loadgen(ctx, "getppid", count, 0)
    t = {}

    def on_ready(run, proc):
        t["go"] = time.perf_counter()
        gen.go()
        t["load_done"] = time.perf_counter()
        # Let the consumer drain what is still buffered, then stop.
        last = None
        while last != run.last_match_at or time.perf_counter() - t["load_done"] < 0.3:
            last = run.last_match_at
            time.sleep(0.3)
        settle_then_interrupt(run, proc)

    program = READY + f"\ntracepoint:raw_syscalls:sys_enter /pid == {gen.pid} && {a}id == {gen.nr}/ {{ printf(\"ev %d\\n\", {a}id); }}"
    try:
        run = run_tool(ctx.cmd(tool, "-e", program), wait_ready=True, on_ready=on_ready, match=b"ev ", timeout=600)
    finally:
        gen.cancel()
    expect_ok(run, tool)
    delivered = len(re.findall(rb"^ev \d+$", run.out, re.M))
    reported = sum(int(x) for x in re.findall(r"Lost (\d+) events", run.text))
    if delivered == 0 or run.last_match_at is None:
        raise BenchError("no printf event was delivered")
    if delivered > count:
        raise BenchError(f"delivered {delivered} events for {count} calls")
    span = run.last_match_at - t["go"]
    return {
        "events_per_s": delivered / span,
        "lost": count - delivered,
        "lost_reported": reported,
    }


# (name, function, default rounds, description)
BENCHMARKS = [
    ("startup", b_startup, 10, "wall time and peak RSS of -e 'BEGIN { exit(); }'"),
    ("exit-latency", b_exit_latency, 10, "SIGINT to process exit, 3-key map"),
    ("attach-many", b_attach_many, 3, "tracepoint:syscalls:sys_enter_* + @[probe] = count(), exit after 200 ms"),
    ("event-overhead", b_event_overhead, 3, "extra CPU ns per getppid() per CPU: floor (empty), cheap (@[comm] = count()), heavy (hist by pid)"),
    ("memory", b_memory, 5, "peak RSS tracing raw_syscalls:sys_enter with @[comm] = count()"),
    ("compile", b_compile, 2, "BEGIN blocks of N map assignments: ferrotrace --dry-run, bpftrace --emit-elf"),
    ("map-print", b_map_print, 3, "extra exit time per key of a 100,000-key map"),
    ("throughput", b_throughput, 3, "printf events/s delivered from getppid() calls, losses counted"),
]

# metric -> (target text, check(ferrotrace, bpftrace or None) -> bool or None)
TARGETS = {
    ("startup", "wall_ms"): ("ratio <= 0.2", lambda f, b: None if b is None else f / b <= 0.2),
    ("startup", "peak_rss_mib"): ("ratio <= 0.33", lambda f, b: None if b is None else f / b <= 0.33),
    ("exit-latency", "sigint_to_exit_ms"): ("< 50 ms", lambda f, b: f < 50),
    ("exit-latency", "begin_only_sigint_to_exit_ms"): ("< 50 ms", lambda f, b: f < 50),
    ("attach-many", "wall_s"): ("ratio <= 0.1", lambda f, b: None if b is None else f / b <= 0.1),
    ("memory", "peak_rss_mib"): ("ratio <= 0.33", lambda f, b: None if b is None else f / b <= 0.33),
    ("map-print", "us_per_key"): ("ratio <= 0.2", lambda f, b: None if b is None else f / b <= 0.2),
    ("throughput", "events_per_s"): ("ratio >= 1.0", lambda f, b: None if b is None else f / b >= 1.0),
    ("compile", "stmts_5000_s"): ("< 0.5 s", lambda f, b: f < 0.5),
}
for _cpu in range(64):
    for _p in ("cheap", "heavy"):
        TARGETS[("event-overhead", f"cheap_over_floor_cpu{_cpu}")] = ("<= 1.2", lambda f, b: f <= 1.2)
        TARGETS[("event-overhead", f"{_p}_extra_ns_cpu{_cpu}")] = (
            "ratio <= 0.7",
            lambda f, b: None if b is None else f / b <= 0.7,
        )


# --------------------------------------------------------- instruction counts


def insn_programs(tool):
    """Every benchmark program, for counting its eBPF instructions (pids are
    placeholders: the code does not depend on their value)."""
    a = args_of(tool)
    progs = {
        "startup": "BEGIN { exit(); }",
        "exit-latency": EXIT_PROGRAM,
        "attach-many": ATTACH_MANY,
        "memory": "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
        "map-print": f"tracepoint:syscalls:sys_enter_close /pid == 1234/ {{ @[{a}fd] = 1; }}",
        "throughput": f"tracepoint:raw_syscalls:sys_enter /pid == 1234 && {a}id == 110/ {{ printf(\"ev %d\\n\", {a}id); }}",
        "compile-100": compile_script(100),
    }
    for name, text in overhead_programs(tool, 1234).items():
        progs[f"event-overhead/{name}"] = text
    return progs


def section_insns(obj):
    """eBPF instructions (8-byte slots) per program section of an object."""
    out = subprocess.run(["llvm-objdump-19", "-h", obj], capture_output=True, text=True, check=True).stdout
    sections = {}
    for line in out.splitlines():
        m = re.match(r"\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+TEXT", line)
        if m and m.group(1) != ".text" and int(m.group(2), 16):
            sections[m.group(1)] = int(m.group(2), 16) // 8
    return sections


def count_insns(ctx, tool, program):
    src = os.path.join(ctx.tmp, "insns.bt")
    with open(src, "w") as f:
        f.write(program)
    obj = os.path.join(ctx.tmp, "insns.o")
    if os.path.exists(obj):
        os.unlink(obj)
    if tool == FT:
        asm = subprocess.run(ctx.cmd(tool, "--emit", "asm", src), capture_output=True, text=True)
        if asm.returncode != 0:
            return {"error": first_line(asm.stderr)}
        mc = subprocess.run(
            ["llvm-mc-19", "-triple=bpfel", "-mcpu=v3", "-filetype=obj", "-o", obj], input=asm.stdout, capture_output=True, text=True
        )
        if mc.returncode != 0:
            return {"error": "llvm-mc: " + first_line(mc.stderr)}
    else:
        r = subprocess.run(ctx.cmd(tool, "--emit-elf", obj, src), capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(obj):
            return {"error": first_line(r.stderr + r.stdout)}
    sections = section_insns(obj)
    return {"total": sum(sections.values()), "sections": sections}


def first_line(text):
    for line in text.splitlines():
        if re.search(r"error", line, re.I) and "RLIMIT_MEMLOCK" not in line:
            return line.strip()
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[0].strip() if lines else "failed"


# ------------------------------------------------------------------ driver


class Context:
    def __init__(self, args, tools, tmp):
        self.args = args
        self.tools = tools  # name -> path
        self.tmp = tmp
        self.loadgen = os.path.join(tmp, "ft-loadgen")
        self.cpus = list(range(os.cpu_count() or 1))

    def cmd(self, tool, *rest):
        return [self.tools[tool], *rest]


def machine(tools):
    def cmd_out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return None

    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    versions = {t: cmd_out([p, "--version"]) for t, p in tools.items()}
    return {
        "kernel": platform.release(),
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": cmd_out(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "tool_versions": versions,
        "gcc": (cmd_out(["gcc", "--version"]) or "").splitlines()[0:1],
        "git_commit": cmd_out(["git", "-C", ROOT, "rev-parse", "HEAD"]),
        "loadavg_start": os.getloadavg(),
    }


def summarize(samples):
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cell(entry):
    if entry is None:
        return "-"
    if "error" in entry:
        return "ERROR"
    s = entry["summary"]
    failed = len(entry.get("failed_rounds", []))
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})" + (f" [{failed} failed]" if failed else "")


def print_table(results, tools):
    rows = []
    errors = []
    for bench, metrics in results.items():
        for metric, per_tool in metrics.items():
            f = per_tool.get(FT)
            b = per_tool.get(BT)
            fm = f["summary"]["median"] if f and "summary" in f else None
            bm = b["summary"]["median"] if b and "summary" in b else None
            ratio = fm / bm if fm is not None and bm else None
            target, check = TARGETS.get((bench, metric), ("", None))
            met = ""
            if check and fm is not None:
                ok = check(fm, bm)
                met = "" if ok is None else ("met" if ok else "MISSED")
            rows.append([bench, metric, cell(f), cell(b) if BT in tools else "(no bpftrace)", fmt(ratio), target, met])
            for tool, e in ((FT, f), (BT, b)):
                if e and "error" in e:
                    errors.append(f"{bench} [{tool}]: {e['error']}")
                for msg in (e or {}).get("failed_rounds", []):
                    errors.append(f"{bench} [{tool}] (one round): {msg}")
    head = ["benchmark", "metric", "ferrotrace median (min–max)", "bpftrace median (min–max)", "ratio", "target", ""]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    print()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))
    if errors:
        print("\nerrors (no number was recorded for these):")
        for e in dict.fromkeys(errors):
            print("  " + e)


def print_insns(insns):
    print("\neBPF instructions per program (8-byte slots, all probes of the script):")
    print(f"  {'program':24} {'ferrotrace':>12} {'bpftrace':>12}")
    for name, per_tool in insns.items():
        cells = []
        for tool in (FT, BT):
            e = per_tool.get(tool)
            cells.append("-" if e is None else ("error" if "error" in e else str(e["total"])))
        print(f"  {name:24} {cells[0]:>12} {cells[1]:>12}")


def parse_args():
    names = [b[0] for b in BENCHMARKS]
    p = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmarks ferrotrace side by side with bpftrace (issue 7).",
        epilog="benchmarks: " + "; ".join(f"{n}: {d}" for n, _, _, d in BENCHMARKS),
    )
    p.add_argument("-b", "--bench", action="append", choices=names + ["insns"], help="run only this benchmark (repeatable); 'insns' only counts instructions")
    p.add_argument("-r", "--rounds", type=int, help="rounds per tool for every benchmark (default: per benchmark, 2-10)")
    p.add_argument("--json", default=os.path.join(ROOT, "target", "bench", "results.json"), help="where to write the JSON results")
    p.add_argument("--ferrotrace", default=os.path.join(ROOT, "target", "release", "ferrotrace"))
    p.add_argument("--bpftrace", default="bpftrace", help="the bpftrace binary to compare with")
    p.add_argument("--no-bpftrace", action="store_true", help="run ferrotrace only")
    p.add_argument("--syscalls", type=int, default=2_000_000, help="syscalls per event-overhead measurement")
    p.add_argument("--events", type=int, default=500_000, help="printf events per throughput round")
    p.add_argument("--map-keys", type=int, default=100_000, help="keys of the map-print map")
    p.add_argument("--compile-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000, 5000], help="statement counts (comma-separated)")
    p.add_argument("--no-insns", action="store_true", help="skip the instruction counts")
    return p.parse_args()


def find_bpftrace(args):
    if args.no_bpftrace:
        return None
    path = args.bpftrace if os.sep in args.bpftrace else shutil.which(args.bpftrace)
    return path if path and os.access(path, os.X_OK) else None


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("scripts/bench: the benchmarks load BPF programs; run as root.")
    tools = {FT: args.ferrotrace}
    bt = find_bpftrace(args)
    if bt:
        tools[BT] = bt
    else:
        print("scripts/bench: bpftrace not found (or --no-bpftrace): measuring ferrotrace only.", file=sys.stderr)
    selected = args.bench or [b[0] for b in BENCHMARKS] + ["insns"]
    with tempfile.TemporaryDirectory(prefix="ferrotrace-bench-") as tmp:
        ctx = Context(args, tools, tmp)
        subprocess.run(
            ["gcc", "-O2", "-Wall", "-o", ctx.loadgen, os.path.join(ROOT, "scripts", "bench-loadgen.c")], check=True
        )
        info = machine(tools)
        print(f"machine: {info['os']}, kernel {info['kernel']}, {info['cpu_model']}, {info['cores']} cores")
        print("tools: " + "; ".join(f"{t} = {v}" for t, v in info["tool_versions"].items()))
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in info['loadavg_start'])}")
        results = {}
        raw = []
        for name, fn, default_rounds, _ in BENCHMARKS:
            if name not in selected:
                continue
            rounds = args.rounds or default_rounds
            order = list(tools)
            samples = {t: {} for t in tools}
            failed = {}
            errors = {t: [] for t in tools}
            metric_errors = {t: {} for t in tools}
            print(f"\n== {name}: {rounds} rounds", flush=True)
            for r in range(rounds):
                # Alternate which tool goes first, so drift hits both alike.
                for tool in order if r % 2 == 0 else order[::-1]:
                    if tool in failed:
                        continue
                    t0 = time.perf_counter()
                    try:
                        m = fn(ctx, tool)
                    except BenchError as e:
                        # A failure in the first round is taken as final (an
                        # unsupported feature) unless it was a hang; later
                        # ones are counted.
                        if r == 0 and not e.transient:
                            failed[tool] = str(e)
                        errors[tool].append(str(e))
                        print(f"  round {r + 1} {tool}: ERROR {e}", flush=True)
                        raw.append({"benchmark": name, "tool": tool, "round": r + 1, "error": str(e)})
                        continue
                    for k, v in m.items():
                        if isinstance(v, BenchError):
                            metric_errors[tool].setdefault(k, str(v))
                        else:
                            samples[tool].setdefault(k, []).append(v)
                    m = {k: (f"ERROR {v}" if isinstance(v, BenchError) else v) for k, v in m.items()}
                    raw.append({"benchmark": name, "tool": tool, "round": r + 1, "metrics": m})
                    shown = ", ".join(f"{k}={v if isinstance(v, str) else fmt(v)}" for k, v in m.items())
                    print(f"  round {r + 1} {tool} ({time.perf_counter() - t0:.1f} s): {shown}", flush=True)
            metrics = {}
            keys = list(dict.fromkeys(k for t in tools for k in [*samples[t], *metric_errors[t]]))
            if not keys:
                keys = ["(all)"]
            for k in keys:
                metrics[k] = {}
                for t in tools:
                    if t in failed and not samples[t].get(k):
                        metrics[k][t] = {"error": failed[t]}
                    elif k in metric_errors[t] and not samples[t].get(k):
                        metrics[k][t] = {"error": metric_errors[t][k]}
                    elif samples[t].get(k):
                        metrics[k][t] = {"samples": samples[t][k], "summary": summarize(samples[t][k])}
                        if errors[t]:
                            metrics[k][t]["failed_rounds"] = errors[t]
            results[name] = metrics
        insns = {}
        if "insns" in selected and not args.no_insns:
            for tool in tools:
                for pname, text in insn_programs(tool).items():
                    insns.setdefault(pname, {})[tool] = count_insns(ctx, tool, text)
        info["loadavg_end"] = os.getloadavg()
        print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in info['loadavg_end'])}")
        if results:
            print_table(results, tools)
        if insns:
            print_insns(insns)
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "results": results,
                    "runs": raw,
                    "instructions": insns,
                },
                f,
                indent=2,
            )
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
