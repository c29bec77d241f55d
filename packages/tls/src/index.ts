export { callerIdentity, identityOf } from "./caller-identity.js";
export { createTlsCertificates, type TlsCertificates, type TlsCertificatesOptions } from "./certificates.js";
export { secureContextOptions, serverTlsOptions, tls12Ciphers, type TlsMinVersion } from "./secure-options.js";
export { createHttp2Listener, createHttpListener, isLoopback, warnIfCleartext } from "./servers.js";
export {
  checkTlsMaterial,
  loadTlsMaterial,
  readTlsFiles,
  tlsFilesProblem,
  type TlsFileErrorCode,
  TlsFileError,
  type TlsFilePaths,
  type TlsFileRole,
  type TlsMaterial,
} from "./tls-files.js";
