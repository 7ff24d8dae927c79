-- The whole-turn hold of the previous release, kept for its instances while a
-- rolling deploy replaces them: one hold of `hold_amount` (all or nothing),
-- placed as the first call's hold of the turn (credit_hold_call).
CREATE OR REPLACE FUNCTION "credit_hold_turn_in_room"(hold_user UUID, hold_turn UUID, hold_amount DECIMAL, default_plan VARCHAR, refuse_beyond_available BOOLEAN, hold_room UUID)
RETURNS TABLE ("placed" BOOLEAN, "refused_by" TEXT, "available_before" DECIMAL(20,4), "room_available_before" DECIMAL(20,4))
LANGUAGE sql AS $$
  SELECT h."placed", h."refused_by", h."available_before", h."room_available_before"
    FROM "credit_hold_call"(hold_user, hold_turn, hold_amount, hold_amount, default_plan, refuse_beyond_available, hold_room, true) h
$$;
