// The ADS client of the built-in proxy.
export { AdsClient, type AdsClientEvents, type AdsClientOptions, type ApplyFn, type DecodedResource, type ResourceUpdate } from './client.js';
export { RejectedResponse, decodeDeltaResponse, decodeSotwResponse } from './responses.js';
