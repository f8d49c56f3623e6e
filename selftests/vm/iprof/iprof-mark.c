// SPDX-License-Identifier: GPL-2.0-only
/*
 * iprof-mark: the guest side of iprof (selftests/vm/iprof/iprof.c).
 *
 *   iprof-mark syms           print the text symbols of every module and
 *                             the kernel's _text from /proc/kallsyms between
 *                             FASTRPC-IPROF-SYMS-BEGIN/END lines; all of
 *                             vmlinux's too when the kernel command line
 *                             has iprof.vmlinux=1 (Debian ships System.map
 *                             as a stub, so the host caches these)
 *   iprof-mark CMD [ARGS...]  run CMD inside an iprof window: execute the
 *                             opening marker, run CMD, execute the closing
 *                             marker; exits with CMD's status
 *
 * The markers are 8-byte NOPs: harmless without the plugin.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void syms(void)
{
	char line[512], type;
	unsigned long long addr;
	bool all = false;
	FILE *f;

	f = fopen("/proc/cmdline", "r");
	if (f) {
		if (fgets(line, sizeof(line), f))
			all = strstr(line, "iprof.vmlinux=1");
		fclose(f);
	}

	f = fopen("/proc/sys/kernel/kptr_restrict", "w");
	if (f) {
		fputs("0\n", f);
		fclose(f);
	}
	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		perror("iprof-mark: /proc/kallsyms");
		exit(1);
	}
	printf("FASTRPC-IPROF-SYMS-BEGIN\n");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c", &addr, &type) != 2)
			continue;
		/* module symbols carry "\t[module]" */
		if (((all || strchr(line, '[')) && (type == 't' || type == 'T')) ||
		    strstr(line, " _text\n"))
			fputs(line, stdout);
	}
	printf("FASTRPC-IPROF-SYMS-END\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: iprof-mark syms | iprof-mark CMD [ARGS...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "syms")) {
		syms();
		return 0;
	}
	fflush(NULL);
	__asm__ volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 'I', 'P', 'R', '1'" ::: "memory");
	pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = 127 << 8;
	__asm__ volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 'I', 'P', 'R', '0'" ::: "memory");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
