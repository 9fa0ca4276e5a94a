import { defineConfig } from "tsup";
import { sharedTsup } from "../../tsup.shared";

// shims: import.meta.url in the CommonJS build too (the static files are found relative to dist/).
export default defineConfig({ ...sharedTsup, shims: true });
