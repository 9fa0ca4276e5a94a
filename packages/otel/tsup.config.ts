import { defineConfig } from "tsup";
import { sharedTsup } from "../../tsup.shared";

// shims: the CommonJS build gets a working import.meta.url, used to load the host
// instrumentations only when setupTracing registers them (setup-tracing.ts).
export default defineConfig({ ...sharedTsup, shims: true });
