export { WireBytesSchema } from "./collection-request.js";
export { type MessageFormat, recordHeaders } from "./record-headers.js";
export { type PlainTimber, TimberReader } from "./timber-reader.js";
export { TimberWriter } from "./timber-writer.js";
export { hasContent, WireContentTimber } from "./wire-content.js";
