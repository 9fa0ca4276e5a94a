import { defineConfig } from "tsup";
import { sharedTsup } from "../../tsup.shared";

// shims: the CommonJS build gets a working import.meta.url, from which the PGlite worker thread's
// module URL is resolved (src/db/pglite-client.ts).
export default defineConfig({ ...sharedTsup, shims: true });
