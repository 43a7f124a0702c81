/** @jsxImportSource hono/jsx */
import type { AgentView } from '@tapit/protocol';
import { agentListing } from '@tapit/protocol/format';
import { Layout, type Viewer } from './layout.js';
import { ListingTable } from './listing.js';

/** `tapit list agents`: status, version, use and capacity, running tasks, labels, last seen. */
export function AgentsPage(props: { viewer: Viewer; agents: AgentView[] }) {
  const { agents, viewer } = props;
  return (
    <Layout title="Agents" viewer={viewer}>
      <h1>Agents</h1>
      <p class="muted">
        CPU in vCPUs and memory in GB, as used/capacity; * marks a capacity an admin set (<code>tapit update agent</code>). Times in UTC.
        {viewer.principal.project !== null && ` Token "${viewer.principal.name}" is limited to project ${viewer.principal.project}: it sees only the agents running its tasks, without readiness, capacity or counts.`}
      </p>
      {agents.length === 0 ? (
        <p>No agents to show.</p>
      ) : (
        <ListingTable label="Agents" listing={agentListing(agents)} rowClass={(row) => (agents[row]!.status !== 'online' || agents[row]!.ready === false ? 'failing' : undefined)} />
      )}
    </Layout>
  );
}
