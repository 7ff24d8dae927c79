// The rooms benchmark's one statement, shared by both baselines: the page of
// rooms with each room's agents aggregated, as the full server reads it.
// Named, so pg prepares it once per connection, as the full server does.
export const ROOMS_PAGE = {
  name: "bench_rooms_page",
  text: `
  SELECT r.id, r.name,
    coalesce((SELECT json_agg(json_build_object('agentKey', a.agent_key, 'name', a.name) ORDER BY ra.position)
              FROM room_agents ra
              JOIN LATERAL (SELECT * FROM agents a WHERE a.id = ra.agent_id OFFSET 0) a ON a.deleted_at IS NULL
              WHERE ra.room_id = r.id), '[]') AS agents
  FROM rooms r WHERE r.owner_id = $1 AND r.deleted_at IS NULL
  ORDER BY r.created_at DESC, r.id DESC LIMIT 20`,
};

export interface RoomRow {
  id: string;
  name: string;
  agents: { agentKey: string; name: string }[];
}
