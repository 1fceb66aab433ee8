//! Recurring events (README "Recurring events"): creating a series, the
//! generator that keeps its occurrences `events.series_horizon_days` ahead,
//! and edits that reach this and the following occurrences or all future
//! ones.
//!
//! Occurrences are ordinary events with `series_id` and their number in
//! the series (`series_index`); everything per event (participation,
//! capacity, waiting list, reminders, cancelling) works on each alone. The
//! series keeps the rule, the fields new occurrences get and how far it
//! has been generated (`next_index`): the generator creates the numbers
//! from `next_index` on that start within the horizon, so running it again
//! creates nothing, and an occurrence cancelled or edited alone is never
//! created anew (the pair series/number is also unique in the database).

use std::collections::HashSet;

use chrono::Duration;

use crate::domain::error::{DomainError, DomainResult, messages};
use crate::domain::event::{Event, EventPatch, NewEvent, check_dates};
use crate::domain::organiser::Acting;
use crate::domain::series::{Rule, Schedule, Scope, Series, Template, local, resolve, time_shift};
use crate::domain::time::Ts;
use crate::service::Services;
use crate::service::audit::{self, Action, Actor, Changes, Target};
use crate::service::events::{self, EventView};
use crate::store::Tx;

/// Not an occurrence: the series scopes do not apply.
pub const NOT_IN_SERIES: &str = "This event is not part of a series";
/// Participants are per occurrence.
pub const PARTICIPANTS_PER_OCCURRENCE: &str =
    "participants_ids can be changed on one occurrence only (scope=this)";

/// A series with its occurrences (by number).
#[derive(Debug, Clone)]
pub struct SeriesView {
    pub series: Series,
    pub occurrences: Vec<Event>,
}

fn horizon(svc: &Services, now: Ts) -> Ts {
    Ts(now.0 + Duration::days(svc.config.events.series_horizon_days as i64))
}

fn require(tx: &mut dyn Tx, id: i64) -> DomainResult<Series> {
    tx.lock_series(id)?;
    tx.series(id)?
        .ok_or_else(|| DomainError::not_found("Series not found"))
}

/// Creates the occurrences of `series` from `next_index` on that start
/// within the horizon (those already past are skipped, those that exist
/// are kept); advances `next_index`. Returns how many it created.
fn generate(svc: &Services, tx: &mut dyn Tx, series: &mut Series, now: Ts) -> DomainResult<usize> {
    let due: Vec<_> = series
        .schedule
        .until(horizon(svc, now))
        .into_iter()
        .filter(|o| o.index >= series.next_index)
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let existing: HashSet<i64> = tx
        .series_events(series.id)?
        .iter()
        .filter_map(|e| e.series_index)
        .collect();
    // A deleted category: new occurrences have none.
    if let Some(category) = series.template.category_id
        && tx.category(category)?.is_none()
    {
        series.template.category_id = None;
    }
    let mut created = 0;
    for o in due {
        if o.starts_at > now && !existing.contains(&(o.index as i64)) {
            let new = series.template.occurrence(series.id, o.index, o.starts_at);
            tx.insert_event(&new, now)?;
            created += 1;
        }
        series.next_index = o.index + 1;
    }
    tx.save_series(series)?;
    Ok(created)
}

/// Creates a series whose first occurrence is `first` (its start and end
/// give the local time and the length of every occurrence) repeating by
/// `rule` in the display time zone, with its occurrences up to the horizon.
pub async fn create(
    svc: &Services,
    actor: &Actor,
    first: NewEvent,
    rule: Rule,
) -> DomainResult<SeriesView> {
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            check_dates(now, first.starts_at, first.ends_at)?;
            events::require_category(tx, first.category_id)?;
            let tz = svc.config.timezone();
            let start = local(tz, first.starts_at);
            let rule = rule.check(start.date())?;
            let template = Template::of(&first.into_event(0, now));
            let mut series = Series {
                id: 0,
                schedule: Schedule {
                    rule,
                    tz,
                    first: start,
                },
                template,
                next_index: 0,
                created_at: now,
            };
            series.id = tx.insert_series(&series)?;
            generate(&svc, tx, &mut series, now)?;
            let occurrences = tx.series_events(series.id)?;
            // One entry per occurrence the administrator's request made (the
            // generator's later ones are the series', not a person's).
            for event in &occurrences {
                let changes = Changes::diff(&serde_json::json!({}), &events::audited(event, &[]));
                audit::record(
                    &svc,
                    tx,
                    &actor,
                    Action::EventCreated,
                    Target::event(event.id),
                    changes,
                )?;
            }
            Ok(SeriesView {
                series,
                occurrences,
            })
        })
        .await
}

/// A series with its occurrences.
pub async fn get(svc: &Services, id: i64) -> DomainResult<SeriesView> {
    svc.store
        .read(move |tx| {
            let series = tx
                .series(id)?
                .ok_or_else(|| DomainError::not_found("Series not found"))?;
            let occurrences = tx.series_events(id)?;
            Ok(SeriesView {
                series,
                occurrences,
            })
        })
        .await
}

/// The generator (the scheduler's `series` tick): extends every series to
/// the horizon, one transaction per series; returns how many occurrences
/// it created.
pub async fn extend_all(svc: &Services) -> DomainResult<usize> {
    let ids = svc.store.read(|tx| tx.series_ids()).await?;
    let mut total = 0;
    for id in ids {
        let svc2 = svc.clone();
        total += svc
            .store
            .write(move |tx| {
                let now = svc2.now();
                let mut series = require(tx, id)?;
                generate(&svc2, tx, &mut series, now)
            })
            .await?;
    }
    Ok(total)
}

/// Edits occurrence `id` with `scope` (`this` is [`events::update`]):
/// - `following`: the series splits here; the old one ends before this
///   occurrence, a new one (with the change) goes on from it and takes
///   this and the later occurrences;
/// - `all`: the series' template and every occurrence that has not started
///   (and this one) change.
///
/// The start may move within its day: every reached occurrence moves by the
/// same wall-clock amount; the end sets every reached occurrence's length.
/// Cancelling with either scope also ends the series there (no more
/// occurrences are generated). Each reached occurrence's participants are
/// told as for a single edit. Answers the edited occurrence.
pub async fn update(
    svc: &Services,
    actor: &Actor,
    id: i64,
    patch: EventPatch,
    participant_ids: Option<Vec<i64>>,
    scope: Scope,
) -> DomainResult<EventView> {
    if scope == Scope::This {
        return events::update(svc, actor, Acting::SYSTEM, id, patch, participant_ids, None).await;
    }
    if participant_ids.is_some() {
        return Err(DomainError::rule(PARTICIPANTS_PER_OCCURRENCE));
    }
    let (svc, actor) = (svc.clone(), actor.clone());
    svc.store
        .clone()
        .write(move |tx| {
            let now = svc.now();
            let event = events::require(tx, id)?;
            let (Some(series_id), Some(index)) = (event.series_id, event.series_index) else {
                return Err(DomainError::rule(NOT_IN_SERIES));
            };
            let index = u32::try_from(index).map_err(DomainError::internal)?;
            let mut series = require(tx, series_id)?;
            let tz = series.schedule.tz;
            let edited = patch.clone().apply(&event)?;
            let shift = time_shift(local(tz, event.starts_at), local(tz, edited.starts_at))?;
            let duration = edited.ends_at.0 - edited.starts_at.0;
            let moves = patch.starts_at.is_some() || patch.ends_at.is_some();
            let cancels = matches!(patch.rejected_at, Some(Some(_)));
            let template = series
                .template
                .patched(&patch, duration.num_microseconds().unwrap_or(i64::MAX))?;

            let reached: Vec<Event> = tx
                .series_events(series_id)?
                .into_iter()
                .filter(|e| match scope {
                    Scope::Following => e.series_index >= Some(index as i64),
                    _ => e.id == id || e.starts_at > now,
                })
                .collect();
            // Occurrences cancelled one by one stay as they are unless the
            // edit is about cancelling (or restoring); a split still takes
            // them over.
            let (mut touched, mut untouched): (Vec<Event>, Vec<Event>) =
                reached.into_iter().partition(|e| {
                    e.id == id || e.rejected_at.is_none() || patch.rejected_at.is_some()
                });

            if scope == Scope::Following && index > 0 {
                // The split: the old series ends before this occurrence.
                let from = series
                    .schedule
                    .nth_local(index)
                    .ok_or_else(|| DomainError::internal("occurrence past its rule"))?;
                let mut rest = series.schedule.from_occurrence(index, from + shift);
                let old_next = series.next_index;
                series.schedule = series.schedule.ending_before(index);
                series.next_index = series.next_index.min(index);
                tx.save_series(&series)?;
                if cancels {
                    rest.rule.count = Some(0);
                }
                let mut new = Series {
                    id: 0,
                    schedule: rest,
                    template,
                    next_index: old_next.saturating_sub(index),
                    created_at: now,
                };
                new.id = tx.insert_series(&new)?;
                for e in touched.iter_mut().chain(untouched.iter_mut()) {
                    e.series_id = Some(new.id);
                    e.series_index = e.series_index.map(|i| i - index as i64);
                    tx.save_event(e)?;
                }
            } else {
                series.schedule.first += shift;
                series.template = template;
                if cancels {
                    series.schedule.rule.count = Some(if scope == Scope::Following {
                        index
                    } else {
                        series.next_index
                    });
                    series.schedule.rule.until = None;
                }
                tx.save_series(&series)?;
            }

            let mut answer = None;
            for e in touched {
                let mut p = EventPatch {
                    starts_at: None,
                    ends_at: None,
                    ..patch.clone()
                };
                if moves {
                    let start = resolve(tz, local(tz, e.starts_at) + shift)
                        .ok_or_else(|| DomainError::internal("no such local time"))?;
                    p.starts_at = Some(Some(start));
                    p.ends_at = Some(Some(Ts(start.0 + duration)));
                }
                let view = events::update_in(&svc, tx, &actor, e.id, p, None, now)?;
                if e.id == id {
                    answer = Some(view);
                }
            }
            match answer {
                Some(view) => Ok(view),
                None => Err(DomainError::not_found(messages::EVENT_NOT_FOUND)),
            }
        })
        .await
}
