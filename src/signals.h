#ifndef XDPI_SIGNALS_H
#define XDPI_SIGNALS_H

#include <signal.h>

/* The run loops' signals (run and run --hook socket): SIGINT and SIGTERM
 * set stop_requested, SIGUSR1 sets stats_requested (a stats line now; the
 * loop clears it). */
extern volatile sig_atomic_t stop_requested;
extern volatile sig_atomic_t stats_requested;

void install_signals(void);

#endif
