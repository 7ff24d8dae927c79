-- What is left of a room's monthly budget (SPEC 13): the budget, less what the
-- room's ledger rows spent this month (UTC) and what its running calls hold
-- (of any month). NULL when the room has no budget.
CREATE OR REPLACE FUNCTION "credit_room_available"(room UUID) RETURNS DECIMAL(20,4)
LANGUAGE sql STABLE AS $$
  SELECT r."monthly_credit_budget"
         - coalesce((SELECT sum(u."spent") FROM "room_credit_usage" u
                      WHERE u."room_id" = r."id" AND u."period_start" = date_trunc('month', now() AT TIME ZONE 'UTC')::date), 0)
         - coalesce((SELECT sum(u."held") FROM "room_credit_usage" u WHERE u."room_id" = r."id"), 0)
    FROM "rooms" r WHERE r."id" = room
$$;
