/* footer.h - C mirrors of the parquet.thrift structs rugo decodes, and the walker API.
 *
 * Parsing happens in two phases: decode.c walks the Thrift bytes into these plain C structs
 * (strings stay spans into the caller's buffer, lists live in an arena), then build.c turns
 * them into Python objects in exactly the shape of the result. Every struct starts with an
 * `isset` bit mask: bit i is set when field table entry i was present on the wire.
 */
#ifndef RUGO_FOOTER_H
#define RUGO_FOOTER_H

#include "thrift.h"

typedef struct {
    void *items;        /* element array in the arena */
    uint32_t n;         /* elements decoded */
    uint32_t total;     /* elements the list declared (n < total when limited) */
} list;

typedef struct { uint32_t isset; } Empty;

typedef struct {
    uint32_t isset;
    span max, min;
    int64_t null_count, distinct_count;
    span max_value, min_value;
    int32_t is_max_value_exact, is_min_value_exact;
    int64_t nan_count;
} Statistics;

typedef struct { uint32_t isset; int64_t unencoded_byte_array_data_bytes; } SizeStatistics;

typedef struct {
    uint32_t isset;
    double xmin, xmax, ymin, ymax, zmin, zmax, mmin, mmax;
} BoundingBox;

typedef struct { uint32_t isset; BoundingBox bbox; list geospatial_types; } GeospatialStatistics;

typedef struct { uint32_t isset; span key, value; } KeyValue;

typedef struct {
    uint32_t isset;
    int32_t type;
    list encodings;             /* int32 */
    list path_in_schema;        /* span */
    int32_t codec;
    int64_t num_values, total_uncompressed_size, total_compressed_size;
    list key_value_metadata;    /* KeyValue */
    int64_t data_page_offset, index_page_offset, dictionary_page_offset;
    Statistics statistics;
    int64_t bloom_filter_offset;
    int32_t bloom_filter_length;
    SizeStatistics size_statistics;
    GeospatialStatistics geospatial_statistics;
} ColumnMetaData;

typedef struct {
    uint32_t isset;
    span file_path;
    int64_t file_offset;
    ColumnMetaData meta_data;
    int64_t offset_index_offset;
    int32_t offset_index_length;
    int64_t column_index_offset;
    int32_t column_index_length;
    span encrypted_column_metadata;
} ColumnChunk;

typedef struct { uint32_t isset; int32_t column_idx, descending, nulls_first; } SortingColumn;

typedef struct {
    uint32_t isset;
    list columns;               /* ColumnChunk */
    int64_t total_byte_size, num_rows;
    list sorting_columns;       /* SortingColumn */
    int64_t file_offset, total_compressed_size;
    int32_t ordinal;
} RowGroup;

typedef struct { uint32_t isset; Empty millis, micros, nanos; } TimeUnit;
typedef struct { uint32_t isset; int32_t scale, precision; } DecimalType;
typedef struct { uint32_t isset; int32_t is_adjusted_to_utc; TimeUnit unit; } TimeType;
typedef struct { uint32_t isset; int32_t bit_width, is_signed; } IntType;
typedef struct { uint32_t isset; int32_t specification_version; } VariantType;
typedef struct { uint32_t isset; span crs; int32_t algorithm; } GeoType;

/* union LogicalType: isset says which member */
typedef struct {
    uint32_t isset;
    Empty string, map, list_, enum_;
    DecimalType decimal;
    Empty date;
    TimeType time;
    TimeType timestamp;
    IntType integer;
    Empty unknown, json, bson, uuid, float16;
    VariantType variant;
    GeoType geometry, geography;
    Empty vector;
} LogicalType;

/* LogicalType member bits (table order) */
enum {
    LT_STRING, LT_MAP, LT_LIST, LT_ENUM, LT_DECIMAL, LT_DATE, LT_TIME, LT_TIMESTAMP,
    LT_INTEGER, LT_UNKNOWN, LT_JSON, LT_BSON, LT_UUID, LT_FLOAT16, LT_VARIANT,
    LT_GEOMETRY, LT_GEOGRAPHY, LT_VECTOR
};

typedef struct {
    uint32_t isset;
    int32_t type, type_length, repetition_type;
    span name;
    int32_t num_children, converted_type, scale, precision, field_id;
    LogicalType logical_type;
} SchemaElement;

/* SchemaElement field bits (table order) */
enum {
    SE_TYPE, SE_TYPE_LENGTH, SE_REPETITION, SE_NAME, SE_NUM_CHILDREN, SE_CONVERTED,
    SE_SCALE, SE_PRECISION, SE_FIELD_ID, SE_LOGICAL
};

typedef struct { uint32_t isset; Empty type_order, ieee_754_total_order, int96_timestamp_order; } ColumnOrder;

typedef struct { uint32_t isset; span aad_prefix, aad_file_unique; int32_t supply_aad_prefix; } AesGcm;
typedef struct { uint32_t isset; AesGcm aes_gcm_v1, aes_gcm_ctr_v1; } EncryptionAlgorithm;

typedef struct {
    uint32_t isset;
    int32_t version;
    list schema;                /* SchemaElement */
    int64_t num_rows;
    list row_groups;            /* RowGroup */
    list key_value_metadata;    /* KeyValue */
    span created_by;
    list column_orders;         /* ColumnOrder */
    EncryptionAlgorithm encryption_algorithm;
    span footer_signing_key_metadata;
} FileMetaData;

/* isset bits of the structs build.c reads, in field-table order (tables.c) */
enum { ST_MAX, ST_MIN, ST_NULL_COUNT, ST_DISTINCT_COUNT, ST_MAX_VALUE, ST_MIN_VALUE,
       ST_IS_MAX_EXACT, ST_IS_MIN_EXACT, ST_NAN_COUNT };
enum { CM_TYPE, CM_ENCODINGS, CM_PATH, CM_CODEC, CM_NUM_VALUES, CM_TOTAL_UNCOMPRESSED,
       CM_TOTAL_COMPRESSED, CM_KV, CM_DATA_PAGE_OFFSET, CM_INDEX_PAGE_OFFSET,
       CM_DICTIONARY_PAGE_OFFSET, CM_STATISTICS, CM_BLOOM_OFFSET, CM_BLOOM_LENGTH,
       CM_SIZE_STATISTICS, CM_GEOSPATIAL };
enum { CC_FILE_PATH, CC_FILE_OFFSET, CC_META_DATA, CC_OFFSET_INDEX_OFFSET,
       CC_OFFSET_INDEX_LENGTH, CC_COLUMN_INDEX_OFFSET, CC_COLUMN_INDEX_LENGTH, CC_ENCRYPTED };
enum { RG_COLUMNS, RG_TOTAL_BYTE_SIZE, RG_NUM_ROWS, RG_SORTING, RG_FILE_OFFSET,
       RG_TOTAL_COMPRESSED, RG_ORDINAL };
enum { FM_VERSION, FM_SCHEMA, FM_NUM_ROWS, FM_ROW_GROUPS, FM_KV, FM_CREATED_BY,
       FM_COLUMN_ORDERS, FM_ENCRYPTION, FM_FOOTER_SIGNING_KEY };
enum { BB_XMIN, BB_XMAX, BB_YMIN, BB_YMAX, BB_ZMIN, BB_ZMAX, BB_MMIN, BB_MMAX };

#define ISSET(s, bit) (((s)->isset >> (bit)) & 1u)

/* ---- the table-driven walker (decode.c) over the tables (tables.c) ---- */

enum { K_INT, K_BOOL, K_DOUBLE, K_BINARY, K_STRUCT, K_LIST };

/* Field flags that let the caller's options prune the walk. */
enum { F_NONE = 0, F_ROW_GROUPS = 1, F_STATISTICS = 2, F_SCHEMA = 4 };

struct struct_spec;

typedef struct {
    int16_t id;
    uint8_t kind;               /* K_* stored in the C struct */
    uint8_t elem;               /* for K_LIST: the element kind */
    uint8_t width;              /* for K_INT: 4 or 8 bytes */
    uint8_t required;
    uint8_t flags;              /* F_* */
    uint16_t offset;            /* offsetof the member */
    const struct struct_spec *sub;  /* for structs and lists of structs */
    const char *name;           /* spec name, used in error paths */
} field_spec;

#define SPEC_MAX_ID 32

typedef struct struct_spec {
    const char *name;
    size_t size;
    const field_spec *fields;
    int nfields;
    /* derived from `fields` once by tables_init(): */
    uint32_t required;              /* isset bits of the required fields */
    int8_t by_id[SPEC_MAX_ID];      /* field id -> table index, -1 when unknown */
} struct_spec;

extern struct_spec SPEC_FileMetaData;

/* Fill the derived members of every table; call once before decoding. */
void tables_init(void);

/* Bump allocator for everything decoded; freed in one go. */
typedef struct arena_block arena_block;
typedef struct {
    arena_block *head;
} arena;

/* Up to this many times the footer's size may be allocated for lists at their declared
 * length (a real footer decodes to about 4x its size); beyond it lists grow by doubling. */
#define PREALLOC_FACTOR 32

void *arena_alloc(arena *a, size_t n);   /* zeroed; NULL when out of memory */
void arena_free(arena *a);

typedef struct {
    cursor cur;
    arena mem;
    int include_statistics;
    int64_t max_row_groups;     /* -1: all */
    uint64_t prealloc_budget;   /* bytes lists may still take at their declared size */
    span schema_raw;            /* the Thrift bytes of FileMetaData.schema (F_SCHEMA) */
    /* breadcrumb of the field being decoded, for error messages */
    const char *trail_name[SKIP_DEPTH_MAX];
    int64_t trail_index[SKIP_DEPTH_MAX];
    int depth;
    char err_field[256];
} decoder;

/* Decode a FileMetaData from d->cur into *out. Returns 1 on success; on failure d->cur.err
 * is set and d->err_field names where. */
int decode_file_metadata(decoder *d, FileMetaData *out);

#endif
