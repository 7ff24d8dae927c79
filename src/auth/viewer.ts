/** Who is asking: the signed-in user as the request's token and the users row say. */
export interface Viewer {
  /** users.id: the Supabase Auth `sub` claim. */
  id: string;
  adminRole: "owner" | "analyst" | null;
  /** Gate C: may this user use the API at the current rollout stage? (Never while suspended.) */
  admitted: boolean;
  /** An owner suspended the account (users.suspended_at). */
  suspended: boolean;
}
