export { type MessageFormat, recordHeaders } from "./record-headers.js";
