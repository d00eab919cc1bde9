/*
 * fuzz.h: what the libFuzzer targets in fuzz/ share: the invariants every
 * decoded value must keep, checked the same way by each target.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "courier-internal.h"

/* The entry points libFuzzer calls: once per input, and once first. */
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	 LLVMFuzzerInitialize(int *, char ***);

/* Say what broke, then abort so that libFuzzer saves the input. */
void	 fuzz_fail(const char *, ...) COURIER_PRINTF(1, 2) COURIER_NORETURN;
/*
 * Check that v survives the protobuf codec and, when it has a JSON form,
 * the JSON codec: decoded again, it must equal v.
 */
void	 fuzz_value_roundtrip(const courier_value *);

#endif /* FUZZ_H */
