{-# LANGUAGE TypeApplications #-}
-- | A running total with a leak knob: the circuit also keeps the largest input it has seen,
-- which nothing reads. Kept lazily ('LeakyKnob'), each cycle's @max@ is a thunk holding the last
-- one, so the state retains one thunk per cycle; forced with the state ('FixedKnob') it stays
-- one number.
module Counter (Knob (..), counter, simulateCounter) where

import Clash.Prelude

-- | Whether the unread part of the state is forced every cycle.
data Knob = FixedKnob | LeakyKnob
  deriving (Eq, Show)

-- | The running total of the inputs (wrapping at 16 bits).
counter
  :: HiddenClockResetEnable dom
  => Knob -> Signal dom (Unsigned 8) -> Signal dom (Unsigned 16)
counter knob = mealy step (0, 0)
  where
    step (total, biggest) x = (next, total')
      where
        total' = total + resize x
        biggest' = max biggest x
        next = case knob of
          FixedKnob -> biggest' `seq` (total', biggest')
          LeakyKnob -> (total', biggest')

-- | The counter's outputs over a repeating input pattern, one per cycle, as a lazy list:
-- consumed as it is produced, the simulation holds only the current cycle.
simulateCounter :: Knob -> [Unsigned 16]
simulateCounter knob =
  sample (withClockResetEnable @System clockGen resetGen enableGen
    (counter knob (fromList (cycle [1 .. 200]))))
