/*
 * env.h: the node's environment, the key/value table filled from the config
 * file and read by services with skynet.getenv.
 */
#ifndef SKYNET_ENV_H
#define SKYNET_ENV_H

void skynet_env_free(void);

#endif
