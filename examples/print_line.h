/* Printing whole lines from several processes at once. Each line leaves in one
 * write (a full buffer, flushed per line), so lines from different processes
 * never mix mid-line: an unbuffered stdout writes piecemeal on Windows. */
#ifndef MPROC_EXAMPLE_PRINT_LINE_H
#define MPROC_EXAMPLE_PRINT_LINE_H

#include <stdarg.h>
#include <stdio.h>

/* Call once at the start of main(), before anything is printed. */
static void print_lines_whole(void)
{
    static char buf[1 << 14];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void print_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

#endif
