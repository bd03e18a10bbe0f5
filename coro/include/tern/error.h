/* Errors are negative errno values everywhere in Tern. */
#ifndef TERN_ERROR_H
#define TERN_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* A message for a 0 / -errno return value (never NULL). */
const char *tn_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
