import { pb } from './pb.js';

const rank = { viewer: 1, manager: 2, admin: 3, owner: 4 };

// session mirrors pb.authStore so components re-render on sign-in and sign-out.
export const session = $state({ user: pb.authStore.isValid ? pb.authStore.record : null });
pb.authStore.onChange(() => { session.user = pb.authStore.isValid ? pb.authStore.record : null; });

// can says whether the signed-in member's role is at least `role`; controls above it are not shown
// (and the server refuses them anyway).
export function can(role) {
  return (rank[session.user?.role] || 0) >= rank[role];
}

export function signOut() {
  pb.realtime.unsubscribe();
  pb.authStore.clear();
}
