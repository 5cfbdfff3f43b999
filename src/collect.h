/* `xdpi collect`: takes the records producers published to NATS JetStream
 * (--out nats://...) into a database, through a durable pull consumer that
 * several collectors can share. */
#ifndef XDPI_COLLECT_H
#define XDPI_COLLECT_H

/* argv[0] is "collect" (options follow). Returns the exit status. */
int cmd_collect(int argc, char **argv);

#endif
