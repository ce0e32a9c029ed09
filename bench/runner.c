/* The benchmarks' runner: start one command, wait for it, print what it
 * cost. Built by the benchmark (static when the C library allows) so that
 * the process that forks the command is small: Linux counts a forked
 * child's pages from its parent in the child's peak RSS (ru_maxrss), so a
 * large parent (a Python interpreter, the benchmark itself) would show its
 * own pages as the command's.
 *
 * Usage: runner COMMAND [ARGS...]   (the command gets the runner's
 * environment, unchanged)
 * Prints one line: wall_ns cpu_us maxrss_kib status
 *   wall_ns     fork to reaped exit, CLOCK_MONOTONIC
 *   cpu_us      user + system time of the command (and of its own reaped
 *               children)
 *   maxrss_kib  the command's peak resident memory
 *   status      the exit code, or 128 + signal
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("usage: runner COMMAND [ARGS...]\n", stderr);
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = fork();
    if (pid < 0) {
        perror("runner: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("runner: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) != pid) {
        perror("runner: wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long wall = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL +
                     (end.tv_nsec - start.tv_nsec);
    long long cpu = (long long)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000LL +
                    usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%lld %lld %ld %d\n", wall, cpu, usage.ru_maxrss, code);
    return 0;
}
