// envoy.filters.http.grpc_stats: counts gRPC calls by service and method on the upstream
// cluster (cluster.<name>.grpc.<service>.<method>.{total,success,failure}), by the grpc-status
// of the response.
import { bool, field, type Json } from '../../config/json.js';
import { counter } from '../../stats.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

class GrpcStatsFilter implements HttpFilter {
  constructor(readonly name: string, private readonly allMethods: boolean) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    if ((getHeader(s.headers, 'content-type') ?? '').startsWith('application/grpc')) s.addDataFilter(this);
    return FilterStatus.Continue;
  }

  private count(s: HttpStream, grpcStatus: string | undefined): void {
    if (!s.clusterName || grpcStatus === undefined) return;
    const [, service = 'unknown', method = 'unknown'] = s.pathOnly.split('/');
    const prefix = this.allMethods ? `cluster.${s.clusterName}.grpc.${service}.${method}` : `cluster.${s.clusterName}.grpc`;
    counter(`${prefix}.total`).value++;
    counter(`${prefix}.${grpcStatus === '0' ? 'success' : 'failure'}`).value++;
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    // Trailers-only responses carry grpc-status in the headers.
    const g = getHeader(headers, 'grpc-status');
    if (g !== undefined && s.dataFilters?.includes(this)) this.count(s, g);
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): undefined {
    this.count(s, getHeader(trailers, 'grpc-status'));
    return undefined;
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.grpc_stats.v3.FilterConfig',
  create: (name: string, c: Json, path: string) => {
    const all = field(c, 'statsForAllMethods') === undefined ? true : bool(c, 'statsForAllMethods', path);
    return new GrpcStatsFilter(name, all);
  },
});
