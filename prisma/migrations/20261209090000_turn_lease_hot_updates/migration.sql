-- A running turn's row is written at each step start (its lease renewed) and
-- by the lease renewals; only its end changes an indexed column (status, in
-- the partial indexes' predicates). With lease_expires_at indexed, every
-- renewal wrote a new entry into each of the five indexes of turns, and none
-- was a HOT update. The lease sweep reads the running turns through
-- uq_turns_session_running (status = 'running') and checks their lease there:
-- running turns are few, however many turns the table holds.
DROP INDEX "idx_turns_running_lease";

-- Room on each page for a turn's renewals to stay on its page (HOT).
ALTER TABLE "turns" SET (fillfactor = 80);
