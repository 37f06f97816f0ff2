/* tables.c - one field table per parquet.thrift struct that rugo decodes.
 *
 * The IDL from the Parquet format spec (src/main/thrift/parquet.thrift) stands above each
 * table. Table position i is isset bit i of the C struct (footer.h). Fields a table does
 * not list are skipped by the walker: that is how forward compatibility works, and how
 * rugo avoids decoding what it never reports (encoding_stats, histograms, crypto metadata).
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "footer.h"

#define REQ 1
#define OPT 0
#define INT(id, T, m, req) {id, K_INT, 0, sizeof(((T *)0)->m), req, F_NONE, offsetof(T, m), NULL, #m}
#define BOOL(id, T, m, req) {id, K_BOOL, 0, 4, req, F_NONE, offsetof(T, m), NULL, #m}
#define DBL(id, T, m, req) {id, K_DOUBLE, 0, 8, req, F_NONE, offsetof(T, m), NULL, #m}
#define BIN(id, T, m, req) {id, K_BINARY, 0, 0, req, F_NONE, offsetof(T, m), NULL, #m}
#define STRUCT(id, T, m, req, S, fl) {id, K_STRUCT, 0, 0, req, fl, offsetof(T, m), &S, #m}
#define LIST_OF(id, T, m, req, ek, w, S, fl) {id, K_LIST, ek, w, req, fl, offsetof(T, m), S, #m}
#define SPEC(T, table) struct_spec SPEC_##T = {#T, sizeof(T), table, (int)(sizeof(table) / sizeof(table[0])), 0, {0}}
#define SPEC_STATIC(T, table) static SPEC(T, table)
#define EMPTY_SPEC(name) static struct_spec SPEC_##name = {#name, sizeof(Empty), NULL, 0, 0, {0}}

/* struct StringType {} ... struct Float16Type {}; struct MilliSeconds {} ...
 * struct TypeDefinedOrder {} ...: every empty struct shares one layout. */
EMPTY_SPEC(Empty);

/* struct Statistics {
 *    1: optional binary max;  2: optional binary min;
 *    3: optional i64 null_count;  4: optional i64 distinct_count;
 *    5: optional binary max_value;  6: optional binary min_value;
 *    7: optional bool is_max_value_exact;  8: optional bool is_min_value_exact;
 *    9: optional i64 nan_count; } */
static const field_spec F_Statistics[] = {
    BIN(1, Statistics, max, OPT), BIN(2, Statistics, min, OPT),
    INT(3, Statistics, null_count, OPT), INT(4, Statistics, distinct_count, OPT),
    BIN(5, Statistics, max_value, OPT), BIN(6, Statistics, min_value, OPT),
    BOOL(7, Statistics, is_max_value_exact, OPT), BOOL(8, Statistics, is_min_value_exact, OPT),
    INT(9, Statistics, nan_count, OPT),
};
SPEC_STATIC(Statistics, F_Statistics);

/* struct SizeStatistics {
 *    1: optional i64 unencoded_byte_array_data_bytes;
 *    2: optional list<i64> repetition_level_histogram;    (skipped)
 *    3: optional list<i64> definition_level_histogram; }  (skipped) */
static const field_spec F_SizeStatistics[] = {
    INT(1, SizeStatistics, unencoded_byte_array_data_bytes, OPT),
};
SPEC_STATIC(SizeStatistics, F_SizeStatistics);

/* struct BoundingBox {
 *   1: required double xmin;  2: required double xmax;
 *   3: required double ymin;  4: required double ymax;
 *   5: optional double zmin;  6: optional double zmax;
 *   7: optional double mmin;  8: optional double mmax; } */
static const field_spec F_BoundingBox[] = {
    DBL(1, BoundingBox, xmin, REQ), DBL(2, BoundingBox, xmax, REQ),
    DBL(3, BoundingBox, ymin, REQ), DBL(4, BoundingBox, ymax, REQ),
    DBL(5, BoundingBox, zmin, OPT), DBL(6, BoundingBox, zmax, OPT),
    DBL(7, BoundingBox, mmin, OPT), DBL(8, BoundingBox, mmax, OPT),
};
SPEC_STATIC(BoundingBox, F_BoundingBox);

/* struct GeospatialStatistics {
 *   1: optional BoundingBox bbox;
 *   2: optional list<i32> geospatial_types; } */
static const field_spec F_GeospatialStatistics[] = {
    STRUCT(1, GeospatialStatistics, bbox, OPT, SPEC_BoundingBox, F_NONE),
    LIST_OF(2, GeospatialStatistics, geospatial_types, OPT, K_INT, 4, NULL, F_NONE),
};
SPEC_STATIC(GeospatialStatistics, F_GeospatialStatistics);

/* struct KeyValue { 1: required string key  2: optional string value } */
static const field_spec F_KeyValue[] = {
    BIN(1, KeyValue, key, REQ), BIN(2, KeyValue, value, OPT),
};
SPEC_STATIC(KeyValue, F_KeyValue);

/* struct ColumnMetaData {
 *   1: required Type type
 *   2: required list<Encoding> encodings
 *   3: required list<string> path_in_schema
 *   4: required CompressionCodec codec
 *   5: required i64 num_values
 *   6: required i64 total_uncompressed_size
 *   7: required i64 total_compressed_size
 *   8: optional list<KeyValue> key_value_metadata
 *   9: required i64 data_page_offset
 *   10: optional i64 index_page_offset
 *   11: optional i64 dictionary_page_offset
 *   12: optional Statistics statistics;
 *   13: optional list<PageEncodingStats> encoding_stats;   (skipped)
 *   14: optional i64 bloom_filter_offset;
 *   15: optional i32 bloom_filter_length;
 *   16: optional SizeStatistics size_statistics;
 *   17: optional GeospatialStatistics geospatial_statistics; } */
static const field_spec F_ColumnMetaData[] = {
    INT(1, ColumnMetaData, type, REQ),
    LIST_OF(2, ColumnMetaData, encodings, REQ, K_INT, 4, NULL, F_NONE),
    LIST_OF(3, ColumnMetaData, path_in_schema, REQ, K_BINARY, 0, NULL, F_NONE),
    INT(4, ColumnMetaData, codec, REQ),
    INT(5, ColumnMetaData, num_values, REQ),
    INT(6, ColumnMetaData, total_uncompressed_size, REQ),
    INT(7, ColumnMetaData, total_compressed_size, REQ),
    LIST_OF(8, ColumnMetaData, key_value_metadata, OPT, K_STRUCT, 0, &SPEC_KeyValue, F_NONE),
    INT(9, ColumnMetaData, data_page_offset, REQ),
    INT(10, ColumnMetaData, index_page_offset, OPT),
    INT(11, ColumnMetaData, dictionary_page_offset, OPT),
    STRUCT(12, ColumnMetaData, statistics, OPT, SPEC_Statistics, F_STATISTICS),
    INT(14, ColumnMetaData, bloom_filter_offset, OPT),
    INT(15, ColumnMetaData, bloom_filter_length, OPT),
    STRUCT(16, ColumnMetaData, size_statistics, OPT, SPEC_SizeStatistics, F_NONE),
    STRUCT(17, ColumnMetaData, geospatial_statistics, OPT, SPEC_GeospatialStatistics, F_NONE),
};
SPEC_STATIC(ColumnMetaData, F_ColumnMetaData);

/* struct ColumnChunk {
 *   1: optional string file_path
 *   2: required i64 file_offset = 0
 *   3: optional ColumnMetaData meta_data
 *   4: optional i64 offset_index_offset
 *   5: optional i32 offset_index_length
 *   6: optional i64 column_index_offset
 *   7: optional i32 column_index_length
 *   8: optional ColumnCryptoMetaData crypto_metadata      (skipped)
 *   9: optional binary encrypted_column_metadata } */
static const field_spec F_ColumnChunk[] = {
    BIN(1, ColumnChunk, file_path, OPT),
    INT(2, ColumnChunk, file_offset, REQ),
    STRUCT(3, ColumnChunk, meta_data, OPT, SPEC_ColumnMetaData, F_NONE),
    INT(4, ColumnChunk, offset_index_offset, OPT),
    INT(5, ColumnChunk, offset_index_length, OPT),
    INT(6, ColumnChunk, column_index_offset, OPT),
    INT(7, ColumnChunk, column_index_length, OPT),
    BIN(9, ColumnChunk, encrypted_column_metadata, OPT),
};
SPEC_STATIC(ColumnChunk, F_ColumnChunk);

/* struct SortingColumn {
 *   1: required i32 column_idx  2: required bool descending  3: required bool nulls_first } */
static const field_spec F_SortingColumn[] = {
    INT(1, SortingColumn, column_idx, REQ),
    BOOL(2, SortingColumn, descending, REQ),
    BOOL(3, SortingColumn, nulls_first, REQ),
};
SPEC_STATIC(SortingColumn, F_SortingColumn);

/* struct RowGroup {
 *   1: required list<ColumnChunk> columns
 *   2: required i64 total_byte_size
 *   3: required i64 num_rows
 *   4: optional list<SortingColumn> sorting_columns
 *   5: optional i64 file_offset
 *   6: optional i64 total_compressed_size
 *   7: optional i16 ordinal } */
static const field_spec F_RowGroup[] = {
    LIST_OF(1, RowGroup, columns, REQ, K_STRUCT, 0, &SPEC_ColumnChunk, F_NONE),
    INT(2, RowGroup, total_byte_size, REQ),
    INT(3, RowGroup, num_rows, REQ),
    LIST_OF(4, RowGroup, sorting_columns, OPT, K_STRUCT, 0, &SPEC_SortingColumn, F_NONE),
    INT(5, RowGroup, file_offset, OPT),
    INT(6, RowGroup, total_compressed_size, OPT),
    INT(7, RowGroup, ordinal, OPT),
};
SPEC_STATIC(RowGroup, F_RowGroup);

/* union TimeUnit { 1: MilliSeconds MILLIS  2: MicroSeconds MICROS  3: NanoSeconds NANOS } */
static const field_spec F_TimeUnit[] = {
    STRUCT(1, TimeUnit, millis, OPT, SPEC_Empty, F_NONE),
    STRUCT(2, TimeUnit, micros, OPT, SPEC_Empty, F_NONE),
    STRUCT(3, TimeUnit, nanos, OPT, SPEC_Empty, F_NONE),
};
SPEC_STATIC(TimeUnit, F_TimeUnit);

/* struct DecimalType { 1: required i32 scale  2: required i32 precision } */
static const field_spec F_DecimalType[] = {
    INT(1, DecimalType, scale, REQ), INT(2, DecimalType, precision, REQ),
};
SPEC_STATIC(DecimalType, F_DecimalType);

/* struct TimestampType { 1: required bool isAdjustedToUTC  2: required TimeUnit unit }
 * struct TimeType      { 1: required bool isAdjustedToUTC  2: required TimeUnit unit } */
static const field_spec F_TimeType[] = {
    BOOL(1, TimeType, is_adjusted_to_utc, REQ),
    STRUCT(2, TimeType, unit, REQ, SPEC_TimeUnit, F_NONE),
};
SPEC_STATIC(TimeType, F_TimeType);

/* struct IntType { 1: required i8 bitWidth  2: required bool isSigned } */
static const field_spec F_IntType[] = {
    INT(1, IntType, bit_width, REQ), BOOL(2, IntType, is_signed, REQ),
};
SPEC_STATIC(IntType, F_IntType);

/* struct VariantType { 1: optional i8 specification_version } */
static const field_spec F_VariantType[] = {
    INT(1, VariantType, specification_version, OPT),
};
SPEC_STATIC(VariantType, F_VariantType);

/* struct GeometryType  { 1: optional string crs; }
 * struct GeographyType { 1: optional string crs; 2: optional EdgeInterpolationAlgorithm algorithm; } */
static const field_spec F_GeoType[] = {
    BIN(1, GeoType, crs, OPT), INT(2, GeoType, algorithm, OPT),
};
SPEC_STATIC(GeoType, F_GeoType);

/* union LogicalType {
 *   1:  StringType STRING      2:  MapType MAP        3:  ListType LIST
 *   4:  EnumType ENUM          5:  DecimalType DECIMAL  6:  DateType DATE
 *   7:  TimeType TIME          8:  TimestampType TIMESTAMP
 *   // 9: reserved for INTERVAL
 *   10: IntType INTEGER        11: NullType UNKNOWN   12: JsonType JSON
 *   13: BsonType BSON          14: UUIDType UUID      15: Float16Type FLOAT16
 *   16: VariantType VARIANT    17: GeometryType GEOMETRY  18: GeographyType GEOGRAPHY
 *   19: VectorType VECTOR }
 * Table order matches the LT_* bits in footer.h. */
static const field_spec F_LogicalType[] = {
    STRUCT(1, LogicalType, string, OPT, SPEC_Empty, F_NONE),
    STRUCT(2, LogicalType, map, OPT, SPEC_Empty, F_NONE),
    STRUCT(3, LogicalType, list_, OPT, SPEC_Empty, F_NONE),
    STRUCT(4, LogicalType, enum_, OPT, SPEC_Empty, F_NONE),
    STRUCT(5, LogicalType, decimal, OPT, SPEC_DecimalType, F_NONE),
    STRUCT(6, LogicalType, date, OPT, SPEC_Empty, F_NONE),
    STRUCT(7, LogicalType, time, OPT, SPEC_TimeType, F_NONE),
    STRUCT(8, LogicalType, timestamp, OPT, SPEC_TimeType, F_NONE),
    STRUCT(10, LogicalType, integer, OPT, SPEC_IntType, F_NONE),
    STRUCT(11, LogicalType, unknown, OPT, SPEC_Empty, F_NONE),
    STRUCT(12, LogicalType, json, OPT, SPEC_Empty, F_NONE),
    STRUCT(13, LogicalType, bson, OPT, SPEC_Empty, F_NONE),
    STRUCT(14, LogicalType, uuid, OPT, SPEC_Empty, F_NONE),
    STRUCT(15, LogicalType, float16, OPT, SPEC_Empty, F_NONE),
    STRUCT(16, LogicalType, variant, OPT, SPEC_VariantType, F_NONE),
    STRUCT(17, LogicalType, geometry, OPT, SPEC_GeoType, F_NONE),
    STRUCT(18, LogicalType, geography, OPT, SPEC_GeoType, F_NONE),
    STRUCT(19, LogicalType, vector, OPT, SPEC_Empty, F_NONE),
};
SPEC_STATIC(LogicalType, F_LogicalType);

/* struct SchemaElement {
 *   1: optional Type type;
 *   2: optional i32 type_length;
 *   3: optional FieldRepetitionType repetition_type;
 *   4: required string name;
 *   5: optional i32 num_children;
 *   6: optional ConvertedType converted_type;
 *   7: optional i32 scale
 *   8: optional i32 precision
 *   9: optional i32 field_id;
 *   10: optional LogicalType logicalType
 *   11: optional i32 vector_length; }      (skipped)
 * Table order matches the SE_* bits in footer.h. */
static const field_spec F_SchemaElement[] = {
    INT(1, SchemaElement, type, OPT),
    INT(2, SchemaElement, type_length, OPT),
    INT(3, SchemaElement, repetition_type, OPT),
    BIN(4, SchemaElement, name, REQ),
    INT(5, SchemaElement, num_children, OPT),
    INT(6, SchemaElement, converted_type, OPT),
    INT(7, SchemaElement, scale, OPT),
    INT(8, SchemaElement, precision, OPT),
    INT(9, SchemaElement, field_id, OPT),
    STRUCT(10, SchemaElement, logical_type, OPT, SPEC_LogicalType, F_NONE),
};
SPEC_STATIC(SchemaElement, F_SchemaElement);

/* union ColumnOrder {
 *   1: TypeDefinedOrder TYPE_ORDER;
 *   2: IEEE754TotalOrder IEEE_754_TOTAL_ORDER;
 *   3: Int96TimestampOrder INT96_TIMESTAMP_ORDER; } */
static const field_spec F_ColumnOrder[] = {
    STRUCT(1, ColumnOrder, type_order, OPT, SPEC_Empty, F_NONE),
    STRUCT(2, ColumnOrder, ieee_754_total_order, OPT, SPEC_Empty, F_NONE),
    STRUCT(3, ColumnOrder, int96_timestamp_order, OPT, SPEC_Empty, F_NONE),
};
SPEC_STATIC(ColumnOrder, F_ColumnOrder);

/* struct AesGcmV1 / AesGcmCtrV1 {
 *   1: optional binary aad_prefix  2: optional binary aad_file_unique
 *   3: optional bool supply_aad_prefix } */
static const field_spec F_AesGcm[] = {
    BIN(1, AesGcm, aad_prefix, OPT), BIN(2, AesGcm, aad_file_unique, OPT),
    BOOL(3, AesGcm, supply_aad_prefix, OPT),
};
SPEC_STATIC(AesGcm, F_AesGcm);

/* union EncryptionAlgorithm { 1: AesGcmV1 AES_GCM_V1  2: AesGcmCtrV1 AES_GCM_CTR_V1 } */
static const field_spec F_EncryptionAlgorithm[] = {
    STRUCT(1, EncryptionAlgorithm, aes_gcm_v1, OPT, SPEC_AesGcm, F_NONE),
    STRUCT(2, EncryptionAlgorithm, aes_gcm_ctr_v1, OPT, SPEC_AesGcm, F_NONE),
};
SPEC_STATIC(EncryptionAlgorithm, F_EncryptionAlgorithm);

/* struct FileMetaData {
 *   1: required i32 version
 *   2: required list<SchemaElement> schema;
 *   3: required i64 num_rows
 *   4: required list<RowGroup> row_groups
 *   5: optional list<KeyValue> key_value_metadata
 *   6: optional string created_by
 *   7: optional list<ColumnOrder> column_orders;
 *   8: optional EncryptionAlgorithm encryption_algorithm
 *   9: optional binary footer_signing_key_metadata } */
static const field_spec F_FileMetaData[] = {
    INT(1, FileMetaData, version, REQ),
    LIST_OF(2, FileMetaData, schema, REQ, K_STRUCT, 0, &SPEC_SchemaElement, F_SCHEMA),
    INT(3, FileMetaData, num_rows, REQ),
    LIST_OF(4, FileMetaData, row_groups, REQ, K_STRUCT, 0, &SPEC_RowGroup, F_ROW_GROUPS),
    LIST_OF(5, FileMetaData, key_value_metadata, OPT, K_STRUCT, 0, &SPEC_KeyValue, F_NONE),
    BIN(6, FileMetaData, created_by, OPT),
    LIST_OF(7, FileMetaData, column_orders, OPT, K_STRUCT, 0, &SPEC_ColumnOrder, F_NONE),
    STRUCT(8, FileMetaData, encryption_algorithm, OPT, SPEC_EncryptionAlgorithm, F_NONE),
    BIN(9, FileMetaData, footer_signing_key_metadata, OPT),
};
SPEC(FileMetaData, F_FileMetaData);

static struct_spec *const ALL_SPECS[] = {
    &SPEC_Empty, &SPEC_Statistics, &SPEC_SizeStatistics, &SPEC_BoundingBox,
    &SPEC_GeospatialStatistics, &SPEC_KeyValue, &SPEC_ColumnMetaData, &SPEC_ColumnChunk,
    &SPEC_SortingColumn, &SPEC_RowGroup, &SPEC_TimeUnit, &SPEC_DecimalType, &SPEC_TimeType,
    &SPEC_IntType, &SPEC_VariantType, &SPEC_GeoType, &SPEC_LogicalType, &SPEC_SchemaElement,
    &SPEC_ColumnOrder, &SPEC_AesGcm, &SPEC_EncryptionAlgorithm, &SPEC_FileMetaData,
};

static void build_indexes(void)
{
    for (size_t k = 0; k < sizeof ALL_SPECS / sizeof ALL_SPECS[0]; k++) {
        struct_spec *s = ALL_SPECS[k];
        s->required = 0;
        memset(s->by_id, -1, sizeof s->by_id);
        for (int i = 0; i < s->nfields; i++) {
            if (s->fields[i].required)
                s->required |= 1u << i;
            if (s->fields[i].id >= 0 && s->fields[i].id < SPEC_MAX_ID)
                s->by_id[s->fields[i].id] = (int8_t)i;
        }
    }
}

/* The indexes are process-wide C data derived from the constant tables: built once, by
 * the first module exec of the process (any interpreter), read-only afterwards. */
void tables_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, build_indexes);
}
