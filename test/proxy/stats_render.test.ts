// Stats output as Envoy's admin endpoint writes it: Prometheus names and labels from Envoy's
// default tag extractors, and the plain text form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractTags, renderPrometheus, renderText } from '../../src/proxy/stats/render.js';

test("Envoy's tag extraction", () => {
  assert.deepEqual(extractTags('cluster.web.upstream_rq_total'), { metric: 'envoy_cluster_upstream_rq_total', tags: [['envoy_cluster_name', 'web']] });
  assert.deepEqual(extractTags('cluster.web.upstream_rq_2xx'), { metric: 'envoy_cluster_upstream_rq_xx', tags: [['envoy_response_code_class', '2'], ['envoy_cluster_name', 'web']] });
  assert.deepEqual(extractTags('cluster.web.upstream_rq_503'), { metric: 'envoy_cluster_upstream_rq', tags: [['envoy_response_code', '503'], ['envoy_cluster_name', 'web']] });
  assert.deepEqual(extractTags('http.ingress.downstream_rq_5xx'), { metric: 'envoy_http_downstream_rq_xx', tags: [['envoy_response_code_class', '5'], ['envoy_http_conn_manager_prefix', 'ingress']] });
  assert.deepEqual(extractTags('listener.0.0.0.0_10080.downstream_cx_total'), { metric: 'envoy_listener_downstream_cx_total', tags: [['envoy_listener_address', '0.0.0.0_10080']] });
  assert.deepEqual(extractTags('listener.[__]_10080.worker_1.downstream_cx_total'), { metric: 'envoy_listener_worker_downstream_cx_total', tags: [['envoy_worker_id', '1'], ['envoy_listener_address', '[__]_10080']] });
  assert.deepEqual(extractTags('tcp.tcp-10080.downstream_cx_total'), { metric: 'envoy_tcp_downstream_cx_total', tags: [['envoy_tcp_prefix', 'tcp-10080']] });
  assert.deepEqual(extractTags('udp.service.downstream_sess_total'), { metric: 'envoy_udp_downstream_sess_total', tags: [['envoy_udp_prefix', 'service']] });
  assert.deepEqual(extractTags('cluster.web.outlier_detection.ejections_active'), { metric: 'envoy_cluster_outlier_detection_ejections_active', tags: [['envoy_cluster_name', 'web']] });
  assert.deepEqual(extractTags('server.live'), { metric: 'envoy_server_live', tags: [] });
});

test('Prometheus families and the text form', () => {
  const snap = { counters: { 'cluster.b.upstream_rq_total': 2, 'cluster.a.upstream_rq_total': 1, 'cluster.a\\"x.upstream_rq_total': 0 }, gauges: { 'server.live': 1 }, hosts: {} };
  assert.equal(renderPrometheus(snap), [
    '# TYPE envoy_cluster_upstream_rq_total counter',
    'envoy_cluster_upstream_rq_total{envoy_cluster_name="a"} 1',
    'envoy_cluster_upstream_rq_total{envoy_cluster_name="a\\\\\\"x"} 0',
    'envoy_cluster_upstream_rq_total{envoy_cluster_name="b"} 2',
    '# TYPE envoy_server_live gauge',
    'envoy_server_live 1',
    '',
  ].join('\n'));
  assert.equal(renderText(snap, { usedOnly: true }), 'cluster.a.upstream_rq_total: 1\ncluster.b.upstream_rq_total: 2\nserver.live: 1\n');
  assert.equal(renderText(snap, { filter: /^server/ }), 'server.live: 1\n');
});
