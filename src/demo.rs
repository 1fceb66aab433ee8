//! `afisha demo`: a data dir filled with a believable company — an
//! administrator and users with known passwords, ~20 events (past, upcoming,
//! one full, one cancelled) with generated cover images, participation and
//! notifications — then served.

use chrono::{Duration, TimeZone};

use crate::clock::ManualClock;
use crate::domain::event::{EventPatch, NewEvent, ParticipantStatus};
use crate::domain::notice::Actor;
use crate::domain::time::Ts;
use crate::domain::user::Role;
use crate::service::{Services, accounts, events, participation, users};
use crate::state::AppState;
use crate::storage::{self, ImageKind};

pub const ADMIN_EMAIL: &str = "admin@demo.afisha.local";
pub const ADMIN_PASSWORD: &str = "demo-admin-2026";
pub const USER_PASSWORD: &str = "demo-user-2026";

const PEOPLE: &[(&str, &str)] = &[
    ("anna", "Анна Смирнова"),
    ("boris", "Борис Иванов"),
    ("vera", "Вера Кузнецова"),
    ("grigory", "Григорий Попов"),
    ("daria", "Дарья Соколова"),
    ("egor", "Егор Лебедев"),
    ("zhanna", "Жанна Козлова"),
    ("ivan", "Иван Новиков"),
];

/// (name, short description, place, days from now, start hour, hours long, capacity)
type DemoEvent = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    u32,
    i64,
    Option<i64>,
);

const EVENTS: &[DemoEvent] = &[
    (
        "Квартальный town hall",
        "Итоги квартала и планы",
        "Большой зал",
        1,
        10,
        2,
        None,
    ),
    (
        "Мастер-класс по Rust",
        "Владение и заимствование на практике",
        "Переговорная «Волга»",
        3,
        15,
        3,
        Some(12),
    ),
    (
        "Футбол после работы",
        "Две команды по пять",
        "Стадион «Локомотив»",
        4,
        19,
        2,
        Some(10),
    ),
    (
        "Дегустация кофе",
        "Пять зёрен, один бариста",
        "Кухня, 3 этаж",
        5,
        11,
        1,
        Some(3),
    ),
    (
        "Хакатон «Афиша 2.0»",
        "48 часов идей",
        "Опенспейс",
        8,
        10,
        48,
        Some(40),
    ),
    (
        "Лекция о безопасности",
        "Фишинг и пароли",
        "Онлайн",
        9,
        16,
        1,
        None,
    ),
    (
        "Настольные игры",
        "Каркассон, Кодовые имена",
        "Лаунж",
        10,
        18,
        3,
        Some(16),
    ),
    (
        "Книжный клуб",
        "Обсуждаем «Мастера и Маргариту»",
        "Библиотека",
        12,
        19,
        2,
        Some(12),
    ),
    (
        "Йога утром",
        "Для всех уровней",
        "Зал на 5 этаже",
        13,
        8,
        1,
        Some(15),
    ),
    (
        "Новогодний корпоратив",
        "Музыка, конкурсы, подарки",
        "Ресторан «Пушкин»",
        30,
        19,
        5,
        Some(120),
    ),
    (
        "Субботник",
        "Высаживаем деревья",
        "Парк Горького",
        20,
        10,
        4,
        Some(30),
    ),
    (
        "Демо-день продукта",
        "Команды показывают сделанное",
        "Большой зал",
        15,
        14,
        2,
        None,
    ),
    (
        "Встреча новичков",
        "Знакомство с компанией",
        "Переговорная «Нева»",
        -2,
        11,
        2,
        Some(20),
    ),
    (
        "Ретро спринта",
        "Что получилось и что нет",
        "Онлайн",
        -4,
        15,
        1,
        None,
    ),
    (
        "Бег в парке",
        "5 км в спокойном темпе",
        "Парк Сокольники",
        -6,
        8,
        1,
        Some(25),
    ),
    (
        "Лекция по дизайну",
        "Типографика для инженеров",
        "Переговорная «Волга»",
        -9,
        17,
        2,
        Some(30),
    ),
    (
        "Летний пикник",
        "Шашлыки и фрисби",
        "Серебряный бор",
        -30,
        12,
        6,
        Some(80),
    ),
    (
        "Турнир по шахматам",
        "Блиц, швейцарская система",
        "Лаунж",
        -12,
        18,
        3,
        Some(16),
    ),
    (
        "Вечер караоке",
        "Поём хором",
        "Бар «Ноты»",
        6,
        20,
        3,
        Some(25),
    ),
    (
        "Экскурсия на завод",
        "Отменено из-за погоды",
        "Завод «Кристалл»",
        7,
        10,
        4,
        Some(20),
    ),
];

/// A 640×360 cover: a two-colour gradient under one of four motifs (soft
/// stripes, circles, waves, a dot grid) in one of eight palettes, so the
/// demo's ~20 covers do not repeat.
pub fn cover_png(seed: usize) -> Vec<u8> {
    let (w, h) = (640u32, 360u32);
    let palettes = [
        ([244, 96, 54], [253, 200, 48]),
        ([63, 81, 181], [0, 188, 212]),
        ([76, 175, 80], [205, 220, 57]),
        ([156, 39, 176], [233, 30, 99]),
        ([0, 150, 136], [38, 50, 56]),
        ([255, 87, 34], [121, 85, 72]),
        ([33, 33, 99], [236, 64, 122]),
        ([255, 193, 7], [0, 121, 107]),
    ];
    let (a, b) = palettes[(seed / 4 + seed) % palettes.len()];
    let motif = seed % 4;
    let s = seed as f32;
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32, y as f32);
            let t = (fx / w as f32 + fy / h as f32) / 2.0;
            let shade = match motif {
                0 => stripes(fx, fy, s),
                1 => circles(fx, fy, s),
                2 => waves(fx, fy, s),
                _ => dots(fx, fy, s),
            };
            for c in 0..3 {
                let v = (a[c] as f32 * (1.0 - t) + b[c] as f32 * t) * shade;
                pixels.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("png header");
        writer.write_image_data(&pixels).expect("png data");
    }
    out
}

/// Diagonal bands, every other one a little darker.
fn stripes(x: f32, y: f32, seed: f32) -> f32 {
    if (((x + y * 2.0 + seed * 37.0) / 40.0) as u32).is_multiple_of(2) {
        1.0
    } else {
        0.92
    }
}

/// Three large soft circles, lighter inside.
fn circles(x: f32, y: f32, seed: f32) -> f32 {
    let centres = [
        (120.0 + seed * 53.0 % 200.0, 110.0),
        (420.0, 240.0 - seed * 29.0 % 120.0),
        (560.0 - seed * 17.0 % 150.0, 60.0),
    ];
    let inside = centres
        .iter()
        .filter(|(cx, cy)| (x - cx).hypot(y - cy) < 95.0)
        .count();
    1.0 + 0.08 * inside as f32 - 0.06
}

/// Horizontal sine waves.
fn waves(x: f32, y: f32, seed: f32) -> f32 {
    let wave = ((x / 60.0 + seed).sin() * 18.0 + y) / 36.0;
    if (wave as i32).rem_euclid(2) == 0 {
        1.0
    } else {
        0.9
    }
}

/// A grid of small darker dots.
fn dots(x: f32, y: f32, seed: f32) -> f32 {
    let step = 28.0 + seed % 3.0 * 6.0;
    let (dx, dy) = (x % step - step / 2.0, y % step - step / 2.0);
    if dx.hypot(dy) < step / 6.0 { 0.82 } else { 1.0 }
}

/// Seeds an empty database through the same services as HTTP (covers go
/// through the configured image storage). Returns false when it already has
/// users.
///
/// Past events are created the way they once were: with a clock set back
/// to their creation time, so the date and capacity rules hold at that
/// moment; the notifications are the ones those service calls emit.
pub async fn seed(state: &AppState) -> anyhow::Result<bool> {
    let svc = &state.svc;
    if users::has_users(svc).await? {
        return Ok(false);
    }
    let now = svc.now();
    // The demo's own clock: moved back to each event's creation, then home.
    let clock = ManualClock::new(now.0);
    let demo = Services {
        clock: clock.clone(),
        ..svc.clone()
    };
    accounts::create_user(
        &demo,
        ADMIN_EMAIL.into(),
        "Администратор Афиши".into(),
        ADMIN_PASSWORD.into(),
        Role::Administrator,
    )
    .await?;
    let mut people = Vec::new();
    for (login, name) in PEOPLE {
        let email = format!("{login}@demo.afisha.local");
        let id = accounts::create_user(
            &demo,
            email.clone(),
            name.to_string(),
            USER_PASSWORD.into(),
            Role::User,
        )
        .await?
        .id;
        people.push(Actor {
            id,
            full_name: name.to_string(),
            email,
        });
    }
    // Start hours are wall-clock hours in the display time zone (a 10:00
    // town hall is at 10:00 for the people who read the board).
    let zone = svc.config.timezone();
    let today = now.0.with_timezone(&zone).date_naive();
    let local = |days: i64, hour: u32| {
        let day = today + Duration::days(days);
        let at = day.and_hms_opt(hour, 0, 0).unwrap_or_default();
        zone.from_local_datetime(&at)
            .earliest()
            .map_or(now.0, |t| t.with_timezone(&chrono::Utc))
    };
    let last = EVENTS.len() - 1;
    for (i, (name, short, place, days, hour, hours, cap)) in EVENTS.iter().enumerate() {
        let key = storage::new_key(ImageKind::Png);
        svc.storage
            .put(&key, ImageKind::Png, cover_png(i).into())
            .await?;
        let start = local(*days, *hour);
        let new = NewEvent {
            name: name.to_string(),
            short_description: Some(short.to_string()),
            description: format!("{short}. Приходите сами и зовите коллег — будет интересно."),
            starts_at: Ts(start),
            ends_at: Ts(start + Duration::hours(*hours)),
            image_url: svc.storage.url(&key),
            payment_info: (i % 5 == 3).then(|| "Участие бесплатное, напитки за свой счёт".into()),
            max_participants_count: *cap,
            location: Some(place.to_string()),
            attendees_visible: true,
            category_id: None,
            series_id: None,
            series_index: None,
        };
        // Who answers: the coffee tasting (capacity 3) ends up full; in
        // small groups every fourth person declines.
        let take = match cap {
            Some(c) if *c <= PEOPLE.len() as i64 => *c as usize,
            _ => (i * 3) % (PEOPLE.len() + 1),
        };
        let (mut joining, mut declining) = (Vec::new(), Vec::new());
        for (k, person) in people.iter().enumerate().skip(i % 3).take(take) {
            if k % 4 == 3 && take < 3 {
                declining.push(person.clone());
            } else {
                joining.push(person.clone());
            }
        }
        // The first ones are invited at creation (EVENT_CREATED), the last
        // one joins by themselves (a confirmation to the administrators).
        let late = joining.pop();
        let invited: Vec<i64> = joining.iter().map(|p| p.id).collect();
        clock.set(now.0.min(start) - Duration::days(40));
        let event = events::create(
            &demo,
            &crate::domain::audit::Actor::tool("demo"),
            new,
            invited,
            Vec::new(),
        )
        .await?
        .event;
        clock.advance(Duration::hours(1));
        if let Some(person) = late {
            participation::set_mine(
                &demo,
                person,
                event.id,
                Some(ParticipantStatus::Participating),
            )
            .await?;
        }
        for person in declining {
            participation::set_mine(&demo, person, event.id, Some(ParticipantStatus::Rejected))
                .await?;
        }
        clock.set(now.0);
        if i == last {
            let cancel = EventPatch {
                rejected_at: Some(Some(now)),
                ..Default::default()
            };
            events::update(
                &demo,
                &crate::domain::audit::Actor::tool("demo"),
                crate::domain::organiser::Acting::SYSTEM,
                event.id,
                cancel,
                None,
                None,
            )
            .await?;
        }
    }
    Ok(true)
}

pub fn credentials() -> String {
    let mut out = format!("  administrator: {ADMIN_EMAIL} / {ADMIN_PASSWORD}\n");
    for (login, name) in PEOPLE {
        out.push_str(&format!(
            "  user:          {login}@demo.afisha.local / {USER_PASSWORD}   ({name})\n"
        ));
    }
    out
}
