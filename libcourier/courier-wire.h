/*
 * courier-wire.h: what the call path's encoder (courier-wire.c) and its
 * decoder (courier-wire-read.c) share: protobuf's wire types and the
 * field numbers of proto/courier.proto that they write and read by hand.
 */
#ifndef COURIER_WIRE_H
#define COURIER_WIRE_H

#define WT_VARINT	0
#define WT_I64		1
#define WT_LEN		2

/* Field numbers, as proto/courier.proto has them. */
#define F_FRAME_ID		1
#define F_FRAME_CALL		3
#define F_FRAME_RESULT		4
#define F_CALL_METHOD		1
#define F_CALL_ARGUMENTS	2
#define F_CALL_TIMEOUT		3
#define F_ARGS_ARG		1
#define F_ARGS_KWARG		2
#define F_ENTRY_KEY		1
#define F_ENTRY_VALUE		2
#define F_RESPONSE_RESULT	2
#define F_RESULT_VALUE		1
#define F_OBJ_INT		1
#define F_OBJ_DOUBLE		2
#define F_OBJ_BOOL		3
#define F_OBJ_BYTES		4
#define F_OBJ_LIST		5
#define F_OBJ_DICT		6
#define F_OBJ_NONE		8
#define F_OBJ_TENSOR		9
#define F_OBJ_STRING		13
#define F_OBJ_JAX_TENSOR	15
#define F_OBJ_NUMPY_META	16
#define F_LIST_ITEM		1
#define F_LIST_IS_TUPLE		2
#define F_DICT_KEY		1
#define F_DICT_VALUE		2
#define F_TENSOR_DTYPE		1
#define F_TENSOR_SHAPE		2
#define F_TENSOR_VERSION	3
#define F_TENSOR_CONTENT	4
#define F_SHAPE_DIM		2
#define F_SHAPE_UNKNOWN_RANK	3
#define F_DIM_SIZE		1
#define F_DIM_NAME		2

#define NUMPY_OBJECT_TENSOR	2
#define DT_STRING		7

#endif /* COURIER_WIRE_H */
