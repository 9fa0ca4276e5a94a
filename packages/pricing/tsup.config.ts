import { defineConfig } from "tsup";
import { sharedTsup } from "../../tsup.shared";

// shims: the CommonJS build gets a working import.meta.url, used to find data/ and to load
// @pydantic/genai-prices lazily.
export default defineConfig({ ...sharedTsup, shims: true });
