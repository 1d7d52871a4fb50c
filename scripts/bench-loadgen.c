/* The load generator of scripts/bench: makes COUNT cheap system calls on
 * one CPU and reports what each one cost.
 *
 *   bench-loadgen MODE COUNT CPU
 *
 * MODE is `getppid` (COUNT getppid() calls, the cheapest syscall) or
 * `close` (close(-1), close(-2), ... close(-COUNT): each call has a
 * distinct argument, so a tracer can key a map by it). The generator pins
 * itself to CPU, prints "pid NR" (its pid and the syscall number it will
 * make) and waits for one line on standard input, so a tracer can be
 * started with a filter on that pid before the measured loop begins. It
 * then makes the calls and prints
 *
 *   calls COUNT cpu_ns_per_call X wall_ns_per_call Y
 *
 * where cpu_ns is this thread's CPU time (user + system, which includes
 * the BPF programs the kernel runs for each call), so the number holds up
 * when other processes compete for the CPU.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-loadgen getppid|close COUNT CPU\n");
        return 2;
    }
    int close_mode = strcmp(argv[1], "close") == 0;
    if (!close_mode && strcmp(argv[1], "getppid") != 0) {
        fprintf(stderr, "bench-loadgen: unknown mode %s\n", argv[1]);
        return 2;
    }
    long count = atol(argv[2]);
    int cpu = atoi(argv[3]);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        perror("bench-loadgen: sched_setaffinity");
        return 1;
    }
    long nr = close_mode ? SYS_close : SYS_getppid;
    printf("pid %d %ld\n", (int)getpid(), nr);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        return 1;

    long long cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    long long wall0 = now_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < count; i++) {
        if (close_mode)
            syscall(SYS_close, (int)(-1 - i));
        else
            syscall(SYS_getppid);
    }
    long long cpu1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    long long wall1 = now_ns(CLOCK_MONOTONIC);
    printf("calls %ld cpu_ns_per_call %.2f wall_ns_per_call %.2f\n", count,
           (double)(cpu1 - cpu0) / (double)count, (double)(wall1 - wall0) / (double)count);
    return 0;
}
