/** The admin API's own limits. */

/** largest request body the API reads (bundles have their own, from `dtn.maxPayload`) */
export const API_MAX_BODY_BYTES = 64 * 1024
