#!/usr/bin/env node
/**
 * Writes docs/openapi.json, the OpenAPI document the server serves at GET /openapi.json, from the
 * protos (src/edge/rest/openapi-document.ts): `npm run openapi` after a proto or route changes.
 * test/openapi.test.ts fails while the committed copy differs.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { restRoutes } from "../src/edge/rest/http-rules.js";
import { openApiText } from "../src/edge/rest/openapi-document.js";
import { API_SERVICES } from "../src/rpc/routes.js";

const file = resolve(import.meta.dirname, "../docs/openapi.json");
writeFileSync(file, openApiText(restRoutes(API_SERVICES)));
console.log(`wrote ${file}`);
