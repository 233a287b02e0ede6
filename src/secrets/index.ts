/** Encryption of secrets at rest (provider API keys stored through the management API). */
export type { MasterKey, MasterKeyOptions, MasterKeySource } from "./master-key.ts";
export { decodeRawKey, KEY_FILE_NAME, keyFromSetting, loadMasterKey, openSecretBox } from "./master-key.ts";
export { KEY_BYTES, SecretBox, SecretBoxError } from "./secret-box.ts";
