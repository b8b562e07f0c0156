import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseRepeatingInterval, type Duration } from './interval.js'

const duration = (d: Partial<Duration>): Duration => ({
  years: 0,
  months: 0,
  weeks: 0,
  days: 0,
  hours: 0,
  minutes: 0,
  seconds: 0,
  ...d
})

describe('parseRepeatingInterval: the spec examples', () => {
  test('R11/2022-08-24T14:15:22Z/P1M: 11 repetitions, start and a one-month duration', () => {
    assert.deepEqual(parseRepeatingInterval('R11/2022-08-24T14:15:22Z/P1M'), {
      repetitions: 11,
      start: new Date('2022-08-24T14:15:22Z'),
      end: undefined,
      duration: duration({ months: 1 })
    })
  })

  test('R/2017-03-01T13:00:00Z/2018-05-11T15:30:00Z: unbounded, start and end', () => {
    assert.deepEqual(parseRepeatingInterval('R/2017-03-01T13:00:00Z/2018-05-11T15:30:00Z'), {
      repetitions: undefined,
      start: new Date('2017-03-01T13:00:00Z'),
      end: new Date('2018-05-11T15:30:00Z'),
      duration: undefined
    })
  })

  test('R-1/P1Y2M10DT2H30M/2022-05-11T15:30:00Z: unbounded, duration and end', () => {
    assert.deepEqual(parseRepeatingInterval('R-1/P1Y2M10DT2H30M/2022-05-11T15:30:00Z'), {
      repetitions: undefined,
      start: undefined,
      end: new Date('2022-05-11T15:30:00Z'),
      duration: duration({ years: 1, months: 2, days: 10, hours: 2, minutes: 30 })
    })
  })
})

describe('parseRepeatingInterval: other valid forms', () => {
  test('R0 is zero repetitions, not unbounded', () => {
    assert.equal(parseRepeatingInterval('R0/2022-08-24T14:15:22Z/P1D')?.repetitions, 0)
  })

  test('weeks, fractional seconds, offsets and date-only starts', () => {
    assert.deepEqual(
      parseRepeatingInterval('R2/2022-08-24T14:15:22+02:00/P2W')?.duration,
      duration({ weeks: 2 })
    )
    assert.deepEqual(
      parseRepeatingInterval('R/2022-08-24T14:15:22.5Z/PT1.5S')?.duration,
      duration({ seconds: 1.5 })
    )
    assert.deepEqual(
      parseRepeatingInterval('R5/2022-08-24/PT12H')?.start,
      new Date('2022-08-24T00:00:00Z')
    )
    assert.equal(
      parseRepeatingInterval('R/2022-08-24T14:15:22+02:00/P1D')?.start?.toISOString(),
      '2022-08-24T12:15:22.000Z'
    )
  })
})

describe('parseRepeatingInterval: refusals', () => {
  const refused = [
    ['missing R', '2022-08-24T14:15:22Z/P1M'],
    ['missing R with three parts', '11/2022-08-24T14:15:22Z/P1M'],
    ['lower-case r', 'r11/2022-08-24T14:15:22Z/P1M'],
    ['two parts', 'R11/P1M'],
    ['four parts', 'R11/2022-08-24T14:15:22Z/P1M/P1M'],
    ['bad month 13 in the start', 'R11/2022-13-24T14:15:22Z/P1M'],
    ['bad month 13 in the end', 'R/2022-01-24T14:15:22Z/2022-13-01T00:00:00Z'],
    ['bad day 32', 'R/2022-01-32T14:15:22Z/P1M'],
    ['bad hour 24', 'R/2022-01-01T24:00:00Z/P1M'],
    ['empty duration P', 'R11/2022-08-24T14:15:22Z/P'],
    ['empty time part PT', 'R11/2022-08-24T14:15:22Z/PT'],
    ['dangling T', 'R11/2022-08-24T14:15:22Z/P1DT'],
    ['zero duration P0D', 'R11/2022-08-24T14:15:22Z/P0D'],
    ['zero duration PT0S', 'R/PT0S/2022-08-24T14:15:22Z'],
    ['end before start', 'R/2018-05-11T15:30:00Z/2017-03-01T13:00:00Z'],
    ['end equal to start', 'R/2018-05-11T15:30:00Z/2018-05-11T15:30:00Z'],
    ['two durations', 'R/P1D/P1M'],
    ['duration without end', 'R/P1D/garbage'],
    ['negative repetitions other than -1', 'R-2/2022-08-24T14:15:22Z/P1M'],
    ['units out of order', 'R/2022-08-24T14:15:22Z/P1D1M'],
    ['garbage', 'garbage'],
    ['empty string', ''],
    ['slashes only', '//']
  ] as const
  for (const [name, text] of refused) {
    test(name, () => assert.equal(parseRepeatingInterval(text), undefined, text))
  }
})
