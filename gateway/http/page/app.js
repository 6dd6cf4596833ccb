/** The status page: the current state from the API, then live events; see README, "Status page". */
import { acknowledge, getJson } from './api.js';
import { Charts } from './charts.js';
import { follow } from './live.js';
import { Board, renderAlerts, renderHeader, renderUplinks, seriesKey, showConnection } from './render.js';

const charts = new Charts({
  loadHistory: async (device) => (await getJson(`/api/readings/history?device=${encodeURIComponent(device)}`)).series.map((series) => ({ key: seriesKey(series), ...series })),
});
const board = new Board(charts);
const alerts = new Map();
const domains = new Map();
let session;
let loadedOnce = false;

const showAlerts = () => renderAlerts(alerts, session?.may_acknowledge === true, acknowledge);
const refreshReadiness = async () => renderHeader(undefined, await getJson('/readyz', [503]));

/** The whole current state: on the first connection, and again after every reconnect (events may have been missed). */
async function load() {
  const [me, { devices }, { readings }, { active }, { uplinks }, readiness] = await Promise.all([
    getJson('/api/session'),
    getJson('/api/devices'),
    getJson('/api/readings/latest'),
    getJson('/api/alerts'),
    getJson('/api/uplinks'),
    getJson('/readyz', [503]),
  ]);
  session = me;
  renderHeader(session, readiness);
  for (const device of devices) {
    if (device.domain) domains.set(device.name, device.domain);
    board.status({ device: device.name, state: device.state, error: device.error }, device.domain);
  }
  for (const reading of readings) board.reading(reading);
  alerts.clear();
  for (const alert of active) if (alert.state === 'firing') alerts.set(alert.id, alert);
  showAlerts();
  renderUplinks(uplinks);
  if (loadedOnce) charts.reseed();
  loadedOnce = true;
}

const handlers = {
  readings: (readings) => readings.forEach((reading) => board.reading(reading)),
  status: (status) => board.status(status, domains.get(status.device)),
  alert: (change) => {
    if (change.kind === 'resolved') alerts.delete(change.id);
    else alerts.set(change.id, change);
    showAlerts();
  },
  uplinks: (uplinks) => {
    renderUplinks(uplinks);
    refreshReadiness().catch((error) => console.warn('readiness:', error));
  },
};

follow({
  opened: () => {
    showConnection(true);
    load().catch((error) => console.warn('loading the state:', error));
  },
  lost: () => showConnection(false),
  event: (name, data) => handlers[name](data),
});
