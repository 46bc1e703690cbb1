/**
 * A Pagila-like schema (the PostgreSQL sample database of a DVD rental shop), small and generated:
 * what a restore drill must bring back besides plain tables — a partitioned table with its
 * partitions, views, a materialized view, SQL and PL/pgSQL functions, a procedure, triggers,
 * indexes, sequences, a domain and an enum type.
 */
import { psqlQuery, type PgConnection } from './psql.js';

/** Row counts the fixture loads, by table (what a drill's checks must find). */
export const PAGILA_ROWS = {
  'public.actor': 200,
  'public.film': 1000,
  'public.film_actor': 5462,
  'public.customer': 599,
  'public.rental': 16044,
  'public.payment': 14596,
} as const;

const SCHEMA = `
create domain year as integer check (value between 1901 and 2155);
create type mpaa_rating as enum ('G', 'PG', 'PG-13', 'R', 'NC-17');

create function last_updated() returns trigger language plpgsql as $$
begin
  new.last_update = current_timestamp;
  return new;
end $$;

create table actor (actor_id serial primary key, first_name text not null, last_name text not null, last_update timestamptz not null default now());
create index idx_actor_last_name on actor (last_name);
create trigger last_updated before update on actor for each row execute function last_updated();

create table film (
  film_id serial primary key, title text not null, release_year year, rating mpaa_rating default 'G',
  rental_rate numeric(4,2) not null default 4.99, length smallint, last_update timestamptz not null default now()
);
create index idx_title on film (title);
create trigger last_updated before update on film for each row execute function last_updated();

create table film_actor (actor_id int not null references actor, film_id int not null references film, primary key (actor_id, film_id));

create table customer (customer_id serial primary key, first_name text not null, last_name text not null, email text, active boolean not null default true, create_date date not null default current_date);
create index idx_customer_last_name on customer (last_name);

create table rental (rental_id serial, rental_date timestamptz not null, film_id int not null references film, customer_id int not null references customer, return_date timestamptz, primary key (rental_id, rental_date)) partition by range (rental_date);
create table rental_2022 partition of rental for values from ('2022-01-01') to ('2023-01-01');
create table rental_2023 partition of rental for values from ('2023-01-01') to ('2024-01-01');
create index idx_rental_customer on rental (customer_id);

create table payment (payment_id serial primary key, customer_id int not null references customer, rental_id int not null, amount numeric(5,2) not null, payment_date timestamptz not null);

create function film_in_stock(p_film_id int) returns bigint language sql stable as $$ select count(*) from rental where film_id = p_film_id and return_date is not null $$;
create procedure rewards_report(min_total numeric, inout customers int default null) language plpgsql as $$
begin
  select count(*) into customers from (select customer_id from payment group by customer_id having sum(amount) >= min_total) rewarded;
end $$;

create view actor_info as select a.actor_id, a.first_name, a.last_name, count(fa.film_id) as films from actor a left join film_actor fa using (actor_id) group by a.actor_id;
create view customer_list as select customer_id, first_name || ' ' || last_name as name, email from customer where active;
create materialized view rental_by_month as select date_trunc('month', rental_date) as month, count(*) as rentals from rental group by 1;
create unique index on rental_by_month (month);
`;

const DATA = `
insert into actor (first_name, last_name) select 'First' || i, 'Last' || (i % 97) from generate_series(1, 200) i;
insert into film (title, release_year, rating, length) select 'Film ' || i, 1990 + i % 30, (array['G','PG','PG-13','R','NC-17'])[1 + i % 5]::mpaa_rating, 60 + i % 120 from generate_series(1, 1000) i;
insert into film_actor select 1 + i % 200, 1 + i / 200 from generate_series(0, 5461) i;
insert into customer (first_name, last_name, email, active) select 'Cust' || i, 'Omer' || (i % 50), 'c' || i || '@example.org', i % 20 <> 0 from generate_series(1, 599) i;
insert into rental (rental_date, film_id, customer_id, return_date)
  select timestamptz '2022-01-01 00:00Z' + (i * interval '31 minutes'), 1 + i % 1000, 1 + i % 599, case when i % 9 = 0 then null else timestamptz '2022-01-02 00:00Z' + (i * interval '31 minutes') end
  from generate_series(1, 16044) i;
insert into payment (customer_id, rental_id, amount, payment_date) select 1 + i % 599, i, (i % 11) + 0.99, timestamptz '2022-01-01 00:00Z' + (i * interval '33 minutes') from generate_series(1, 14596) i;
refresh materialized view rental_by_month;
analyze;
`;

/** Creates the schema and loads the rows of {@link PAGILA_ROWS} into `database` (which must exist and be empty). */
export async function loadPagilaFixture(pg: PgConnection, database: string): Promise<void> {
  await psqlQuery(pg, database, SCHEMA);
  await psqlQuery(pg, database, DATA);
  const filmActors = Number(await psqlQuery(pg, database, 'select count(*) from film_actor'));
  if (filmActors !== PAGILA_ROWS['public.film_actor']) throw new Error(`fixture film_actor has ${filmActors} rows, expected ${PAGILA_ROWS['public.film_actor']}`);
}
