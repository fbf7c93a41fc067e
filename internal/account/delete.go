package account

import (
	"context"
	"fmt"

	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/fault"
)

// FormerMember is the display name of a deleted user, as the members they
// shared relationships with see it in the history that stays.
const FormerMember = "former member"

var errGone = fault.Unauthenticated("invalid_token", "the account of this token was deleted or does not exist")

// Active refuses a user who was deleted or never existed: a token issued
// before the deletion must open nothing. It costs one read by primary key.
func (s *Service) Active(ctx context.Context, userID string) error {
	ok, err := s.store.Active(ctx, userID)
	if err != nil {
		return fmt.Errorf("check user %s: %w", userID, err)
	}
	if !ok {
		return errGone
	}
	return nil
}

// Delete deletes a user's account, in one transaction: every session is
// revoked, API keys and webhook endpoints are deleted, each membership
// ends (a member.left event each; a relationship left with no member is
// archived), and the personal fields are erased. The row stays, so that
// the history shared with others keeps its ids and shows FormerMember.
// precondition, when not nil, sees the current user and may refuse
// (If-Match).
func (s *Service) Delete(ctx context.Context, userID string, precondition func(User) error) error {
	now := s.now().UTC()
	return s.store.InTx(ctx, func(tx Store) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if u.DeletedAt != nil {
			return errGone
		}
		if precondition != nil {
			if err := precondition(u); err != nil {
				return err
			}
		}
		if err := tx.RevokeUserSessions(ctx, userID, now); err != nil {
			return err
		}
		if err := tx.DeleteUserCredentials(ctx, userID); err != nil {
			return err
		}
		left, err := tx.LeaveAll(ctx, userID, now)
		if err != nil {
			return err
		}
		for _, d := range left {
			m := d.Member
			m.DisplayName, m.LeftAt = FormerMember, &now
			ev := event.Event{Type: event.MemberLeft, RelationshipID: m.RelationshipID, ActorID: userID, CreatedAt: now}
			if err := tx.Emit(ctx, ev, m); err != nil {
				return err
			}
			if !d.Alone {
				continue
			}
			r, changed, err := tx.ArchiveRelationship(ctx, m.RelationshipID, now)
			if err != nil {
				return err
			}
			if changed {
				ev := event.Event{Type: event.RelationshipUpdated, RelationshipID: r.ID, ActorID: userID, CreatedAt: now}
				if err := tx.Emit(ctx, ev, r); err != nil {
					return err
				}
			}
		}
		u.Email = "deleted+" + u.ID + "@invalid"
		u.DisplayName = FormerMember
		// The hasher reads an empty hash as "no account": it never matches.
		u.PasswordHash = ""
		u.DeletedAt, u.UpdatedAt = &now, now
		return tx.EraseUser(ctx, u)
	})
}
