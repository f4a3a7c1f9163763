/**
 * The scheduler's state transitions, each one atomic in Redis. Shared by claim.ts (admit, renew) and
 * run-finish in claim.ts. Key names mirror keys.ts.
 *
 * Invariants the scripts keep:
 * - a fire is admitted at most once: `SET fire NX PX` plus the high-water mark `hwm`, so even after the
 *   claim key expires an old fire can never be admitted again (fires of a job are admitted in order);
 * - only the holder of the newest fencing token (`runToken`) may record an outcome or start the next
 *   queued fire; a paused replica whose lease ran out and was taken over gets "fenced";
 * - every admitted fire ends in exactly one history outcome (succeeded, failed, timed-out, fenced,
 *   covered, discarded, misfired), counters count fires, so they add up to the fires handled.
 */

const prelude = `
local prefix = ARGV[1]
local function k(kind, job) return prefix .. ':' .. kind .. ':' .. job end

local function record(job, entry, cap)
  redis.call('LPUSH', k('history', job), cjson.encode(entry))
  redis.call('LTRIM', k('history', job), 0, cap - 1)
  redis.call('HINCRBY', k('counters', job), entry.outcome, entry.count or 1)
end

-- Gives the run lock of a job to one fire and mints its fencing token.
local function grant(job, fire, replica, now, lease)
  local token = redis.call('INCR', k('fence', job))
  redis.call('HSET', k('state', job), 'runToken', token)
  redis.call('SET', k('run', job), token .. '|' .. fire .. '|' .. replica .. '|' .. now, 'PX', lease)
  return token
end

-- Chooses the next queued fire to run, applying the misfire strategy to fires that waited too long.
local function pickNext(job, now, misfire, threshold, replica, cap)
  local pend = redis.call('ZRANGE', k('pending', job), 0, -1)
  if #pend == 0 then return nil end
  local late, onTime = {}, {}
  for _, f in ipairs(pend) do
    if now - tonumber(f) > threshold then table.insert(late, f) else table.insert(onTime, f) end
  end
  local chosen = onTime[1]
  if #late > 0 then
    for _, f in ipairs(late) do redis.call('ZREM', k('pending', job), f) end
    local dropped = #late
    if misfire == 'fire-once' then
      chosen = late[#late]
      dropped = #late - 1
    end
    if dropped > 0 then
      record(job, { fire = tonumber(late[#late]), outcome = 'misfired', count = dropped, replica = replica,
        at = now, reason = 'waited longer than ' .. threshold .. ' ms behind a running fire' }, cap)
    end
  end
  if chosen then redis.call('ZREM', k('pending', job), chosen) end
  return chosen
end
`;

/**
 * Admits a batch of fires claimed by one replica at one tick.
 * ARGV: prefix, replica, now, leaseMs, claimTtlMs, historyCap, count, then per fire 7 values:
 *   job, fire, block, misfire, thresholdMs, lateList ("" or comma-separated late fires ending with fire), lateBeyondCap.
 * Returns per fire {status, fire, token}: status is lost | stale | run | queued | discarded | misfired.
 * "run" may name an older queued fire than the one claimed (a dead holder's queue is drained first).
 */
export const admitScript = `${prelude}
local replica, now, lease, claimTtl, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local count = tonumber(ARGV[7])
local results = {}
for i = 0, count - 1 do
  local b = 8 + i * 7
  local job, fire, block, misfire = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local threshold, lateList, beyond = tonumber(ARGV[b + 4]), ARGV[b + 5], tonumber(ARGV[b + 6])
  local f = tonumber(fire)
  local result
  if not redis.call('SET', k('fire', job) .. ':' .. fire, replica, 'PX', claimTtl, 'NX') then
    result = { 'lost', fire, 0 }
  else
    local hwm = tonumber(redis.call('HGET', k('state', job), 'hwm') or '-1')
    if f <= hwm then
      result = { 'stale', fire, 0 }
    else
      redis.call('HSET', k('state', job), 'hwm', fire)
      if lateList ~= '' then
        -- Fires nobody started in time: count those newer than what was already admitted.
        local missed, first = 0, nil
        for late in string.gmatch(lateList, '[^,]+') do
          first = first or tonumber(late)
          if tonumber(late) > hwm then missed = missed + 1 end
        end
        if first and hwm < first then missed = missed + beyond end
        local dropped = missed
        if misfire == 'fire-once' then dropped = missed - 1 end
        if dropped > 0 then
          record(job, { fire = f, outcome = 'misfired', count = dropped, replica = replica, at = now,
            reason = 'not started within ' .. threshold .. ' ms of its fire time' }, cap)
        end
        if misfire == 'skip' then result = { 'misfired', fire, 0 } end
      end
      if not result then
        local holder = redis.call('GET', k('run', job))
        if holder then
          if block == 'serial' then
            redis.call('ZADD', k('pending', job), f, fire)
            result = { 'queued', fire, 0 }
          elseif block == 'discard-later' then
            record(job, { fire = f, outcome = 'discarded', replica = replica, at = now,
              reason = 'previous run still running: ' .. holder }, cap)
            result = { 'discarded', fire, 0 }
          else
            local oldToken, oldFire, oldReplica = string.match(holder, '^(%d+)|(%d+)|([^|]*)|')
            redis.call('ZADD', k('covered', job), tonumber(oldToken), oldToken)
            redis.call('ZREMRANGEBYRANK', k('covered', job), 0, -257)
            record(job, { fire = tonumber(oldFire), token = tonumber(oldToken), replica = oldReplica, outcome = 'covered',
              at = now, reason = 'covered by fire ' .. fire }, cap)
            redis.call('PUBLISH', prefix .. ':cancel', job .. '|' .. oldToken)
            result = { 'run', fire, grant(job, fire, replica, now, lease) }
          end
        elseif redis.call('ZCARD', k('pending', job)) > 0 then
          -- The previous holder died with fires queued behind it: run them first, in order.
          redis.call('ZADD', k('pending', job), f, fire)
          local chosen = pickNext(job, now, misfire, threshold, replica, cap)
          if chosen then
            result = { 'run', chosen, grant(job, chosen, replica, now, lease) }
          else
            result = { 'misfired', fire, 0 }
          end
        else
          result = { 'run', fire, grant(job, fire, replica, now, lease) }
        end
      end
    end
  end
  results[i + 1] = result
end
return results
`;

/**
 * Records a finished run and hands over to the next queued fire, if its token is still the newest.
 * ARGV: prefix, job, token, replica, now, leaseMs, historyCap, misfire, thresholdMs, entryJson, takeNext ("1"/"0").
 * A replica shutting down passes takeNext "0": the queue stays for the next fire's claimant.
 * Returns {status, fire, token}: idle | run (next fire and its token) | fenced | covered.
 */
export const finishScript = `${prelude}
local job, token, replica, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local lease, cap, misfire, threshold = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], tonumber(ARGV[9])
local entry = cjson.decode(ARGV[10])
if redis.call('HGET', k('state', job), 'runToken') ~= token then
  if redis.call('ZSCORE', k('covered', job), token) then
    redis.call('ZREM', k('covered', job), token)
    return { 'covered', '0', 0 }
  end
  entry.result = entry.outcome
  entry.outcome = 'fenced'
  entry.reason = 'a newer fencing token owns the job: this run lost its lease while ' .. entry.result
  record(job, entry, cap)
  return { 'fenced', '0', 0 }
end
record(job, entry, cap)
local chosen = nil
if ARGV[11] == '1' then chosen = pickNext(job, now, misfire, threshold, replica, cap) end
if not chosen then
  redis.call('DEL', k('run', job))
  return { 'idle', '0', 0 }
end
return { 'run', chosen, grant(job, chosen, replica, now, lease) }
`;

/**
 * Extends the run lock if the token is still the newest. ARGV: prefix, job, token, value, leaseMs.
 * Returns 1 while the run owns the job; once a newer token does (the run must stop): 2 if a later
 * fire covered it (cover-earlier), 0 otherwise (its lease ran out and another replica took over).
 */
export const renewScript = `${prelude}
local job, token, value, lease = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('HGET', k('state', job), 'runToken') ~= token then
  if redis.call('ZSCORE', k('covered', job), token) then return 2 end
  return 0
end
redis.call('SET', k('run', job), value, 'PX', lease)
return 1
`;
